#!/usr/bin/env bash
# Provision stage of `make demo`: the allowance before the shock shows and in its shocked
# months, with the overlays the monitoring evidence proposes; then where the allowance rose.
#   usage: demo_provisions.sh BIN_DIR PORTFOLIO_DIR REPORTS_DIR
# Runs after demo_monitoring.sh: it reads that stage's assessment folders and its drift and
# performance summaries.
set -euo pipefail
BIN=$1 PORTFOLIO=$2 REPORTS=$3
FIRST=${EWS_DEMO_MONITOR_FROM:-2024-07}
DRIFT=$REPORTS/monitoring/drift-${FIRST}_2025-12
PERFORMANCE=$REPORTS/monitoring/performance-${FIRST}_2025-09

provide() {
  "$BIN/ews-provision" run --as-of "$1" --data "$PORTFOLIO" --scores "$REPORTS/assessment-$1" \
    --drift "$DRIFT" --performance "$PERFORMANCE" --out "$REPORTS/provisions/$1"
}
for month in "$FIRST" 2024-10 2025-01; do
  echo; echo "Allowance of $month (IFRS 9 stages, five categories, scenario-weighted ECL):"
  provide "$month"
done
echo; echo "Why and where the allowance moved from $FIRST to 2025-01:"
"$BIN/ews-provision" movement --from "$REPORTS/provisions/$FIRST" --to "$REPORTS/provisions/2025-01"
cat <<MSG

Each run's folder (per-loan Parquet, totals, ratios, overlays.json, run.json):
  $REPORTS/provisions/YYYY-MM
Overlays stay proposed until a person decides; then the booked allowance includes them:
  $BIN/ews-provision overlays --as-of 2025-01
  $BIN/ews-provision approve OVERLAY_ID --by "NAME" --note "reviewed at the risk committee"
Reproduce a stored run to the yuan: $BIN/ews-provision rerun RUN_ID
The provision panels sit below the monitoring ones on the dashboard; every run is also an
MLflow run (experiment red-credit-provisions).
MSG
