#!/usr/bin/env bash
# Start the scoring service, call it the way a post-loan manager's system would, run the monthly
# portfolio assessment, stop the service. Used by `make demo`; every call is printed first.
#   usage: demo_service.sh BIN_DIR PORTFOLIO_DIR REPORTS_DIR
set -euo pipefail
BIN=$1 PORTFOLIO=$2 REPORTS=$3
PORT=${EWS_DEMO_PORT:-3077}
export EWS_API_KEYS=${EWS_API_KEYS:-demo-key-change-me}
KEY=${EWS_API_KEYS%%,*}
URL=http://127.0.0.1:$PORT
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=$EWS_HOME/ews-serve-demo.log
mkdir -p "$EWS_HOME"

# A wide COLUMNS: ews-serve's console wraps at the terminal width (80 in a file), which would
# split its "serving ... policy ..." line in two.
COLUMNS=${EWS_DEMO_LOG_COLUMNS:-1000} "$BIN/ews-serve" start --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  if curl -fs "$URL/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $SERVER 2>/dev/null; then echo "ews-serve did not start:"; tail -20 "$LOG"; exit 1; fi
  sleep 0.5
done
curl -fs "$URL/readyz" >/dev/null || { echo "ews-serve not ready:"; tail -20 "$LOG"; exit 1; }
# ews-serve's own lines (what it serves, where its OpenAPI is), whole, before BentoML's log.
grep -E '^(serving|OpenAPI:) ' "$LOG" || head -2 "$LOG"
pretty() { "$BIN/python" -c 'import json,sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False, indent=1)[:'"${1:-3000}"'])'; }

# The commands are shown with a placeholder: a real key must never reach a terminal or a CI log.
echo; echo "\$ curl -s -X POST $URL/score -H 'Content-Type: application/json' -H 'X-API-Key: \$YOUR_KEY' -d @serving/examples/score_request.json"
curl -fs -X POST "$URL/score" -H 'Content-Type: application/json' -H "X-API-Key: $KEY" \
  -d @"$HERE/score_request.json" | pretty 4000
echo; echo "\$ curl -s $URL/model -H 'X-API-Key: \$YOUR_KEY'   (first lines)"
curl -fs "$URL/model" -H "X-API-Key: $KEY" | pretty 600
echo; echo "\$ curl -s -o /dev/null -w '%{http_code}' -X POST $URL/score -d @serving/examples/score_request.json   (no key)"
curl -s -o /dev/null -w '%{http_code}\n' -X POST "$URL/score" -H 'Content-Type: application/json' \
  -d @"$HERE/score_request.json"

echo; echo "Monthly risk assessment of the whole book (2025-11, then 2025-12):"
for MONTH in 2025-11 2025-12; do
  "$BIN/ews-serve" score-portfolio --data "$PORTFOLIO" --as-of "$MONTH" \
    --out "$REPORTS/assessment-$MONTH" --again
done
echo; echo "stopping the service (log: $LOG)"
