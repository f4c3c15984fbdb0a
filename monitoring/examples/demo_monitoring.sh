#!/usr/bin/env bash
# Monitoring stage of `make demo`: assess a stretch of months through the ledger, run drift and
# performance monitoring (filling the dashboard), then say how to open it.
#   usage: demo_monitoring.sh BIN_DIR PORTFOLIO_DIR REPORTS_DIR
# Exit code 1 of ews-monitor means "breach found": expected on this book (it holds a shock),
# so it does not fail the demo; anything else does.
set -euo pipefail
BIN=$1 PORTFOLIO=$2 REPORTS=$3
FIRST=${EWS_DEMO_MONITOR_FROM:-2024-07}
monitor() { "$@" || { code=$?; [ "$code" -eq 1 ] || exit "$code"; }; }

echo; echo "Monthly assessments $FIRST to 2025-10 through the ledger (2025-11 and 2025-12 are done):"
"$BIN/ews-serve" score-portfolio --data "$PORTFOLIO" --as-of "$FIRST:2025-10" --out "$REPORTS" --again
echo; echo "Drift of every month against the champion's reference, by segment:"
monitor "$BIN/ews-monitor" drift --as-of "$FIRST:2025-12"
echo; echo "Outcomes against the probabilities (months whose 3-month window has matured):"
monitor "$BIN/ews-monitor" performance --data "$PORTFOLIO" --as-of "$FIRST:2025-09"

SECRET_FILE=$EWS_HOME/secrets/monitor-ui.secret
if [ ! -s "$SECRET_FILE" ]; then
  mkdir -p "$(dirname "$SECRET_FILE")"
  (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$SECRET_FILE")
fi
cat <<MSG

Dashboard (Evidently UI, workspace $EWS_HOME/evidently; reads open on 127.0.0.1, writes need the secret):
  EWS_MONITOR_UI_SECRET=\$(cat $SECRET_FILE) $BIN/ews-monitor ui --port 8011
  then open http://127.0.0.1:8011 and the project red-credit-monitoring
Evidently drift reports (one self-contained HTML per month):
  $REPORTS/monitoring/drift-${FIRST}_2025-12/reports/
Summaries for a scheduler: $REPORTS/monitoring/*/summary.json; every run is also an MLflow run
(experiment red-credit-monitoring) in $EWS_HOME/mlflow.db.
MSG
