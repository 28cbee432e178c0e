#!/usr/bin/env bash
# The main job on built-in demo data, end to end:
#   set up -> generate a demo desk -> stats -> train a bundle (MLflow run, champion) ->
#   serve it (triage API + help desk) -> score one ticket over HTTP -> replay the newest
#   demo tickets through intake, with the worker running as time passes and the history's
#   agents replying and solving at their recorded times, scored via the API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# No network here: keep MLflow from trying to send telemetry.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1

OUT=${DEMO_OUT:-demo-out}
PORT=${DEMO_PORT:-8765}
mkdir -p "$OUT"
rm -f "$OUT/desk.db" "$OUT/replay.db"
export TRIAGE_API_KEYS_FILE="$OUT/api_keys.json"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/6 generate the demo desk"
triage data demo --out "$OUT/demo.parquet"

step "2/6 what is in it"
triage data stats "$OUT/demo.parquet" --top 5

step "3/6 train (our model beside the baselines; bundle in models/demo, MLflow run in mlflow.db)"
triage train --data "$OUT/demo.parquet" --out models/demo

step "4/6 serve the champion with the help desk on 127.0.0.1:$PORT"
KEY=$(triage keys create --scopes triage,admin --name demo 2>/dev/null)
TRIAGE_DATABASE_URL="sqlite:///$OUT/desk.db" \
  triage serve --model champion --port "$PORT" --desk --no-access-log >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $SERVER 2>/dev/null; then cat "$OUT/serve.log"; exit 1; fi
  sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$OUT/serve.log"; exit 1; }

step "5/6 POST /v1/triage"
curl -fsS "http://127.0.0.1:$PORT/v1/triage" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"id": "demo-1", "channel": "email", "subject": "Charged twice this month",
       "body": "Hello, my card was charged twice for the premium plan this month. Please refund the duplicate payment. Invoice INV-20931."}' \
  | python -m json.tool

step "6/6 replay the 200 newest demo tickets (held out from training) through the desk"
# Auto-replies send knowledge-base articles, and only the answer templates a person
# approved. The demo mines templates from the past agent replies as proposals for review
# (`triage replies templates list|approve|retire`) and approves none: its past replies
# say what the agent did for one customer ("I have refunded it"), so only KB articles go out.
triage replies templates mine "$OUT/demo.parquet" --database-url "sqlite:///$OUT/replay.db"
TRIAGE_TRIAGER_URL="http://127.0.0.1:$PORT" TRIAGE_TRIAGER_API_KEY="$KEY" \
  triage desk replay "$OUT/demo.parquet" --limit 200 --show 15 \
  --database-url "sqlite:///$OUT/replay.db"

printf '\nDone. Bundle: models/demo   registry: triage models list   MLflow: mlflow ui --backend-store-uri sqlite:///mlflow.db\n'

# The console on the replayed desk: an agent of the demo roster signs in with an agent key
# named after them and bound to their team (so "Mine" and "My team" are theirs, and they
# see their team's tickets); the admin key sees every ticket.
read -r AGENT TEAM < <(python -c "import json,sys; a=json.load(open(sys.argv[1]))['agents'][0]; \
print(a['id'], a['team'])" "$OUT/demo.agents.json")
AGENT_KEY=$(triage keys create --scopes agent --teams "$TEAM" --name "$AGENT" 2>/dev/null)
printf '\nOpen the console on the demo desk (the 200 replayed tickets):\n'
printf '  TRIAGE_API_KEYS_FILE=%s TRIAGE_DATABASE_URL=sqlite:///%s/replay.db \\\n' \
  "$TRIAGE_API_KEYS_FILE" "$OUT"
printf '    .venv/bin/triage serve --model champion --port %s --desk\n' "$PORT"
printf '  then browse http://127.0.0.1:%s/console and sign in as %s with the API key\n' "$PORT" "$AGENT"
printf '    %s\n' "$AGENT_KEY"
printf '  (an admin: %s)\n' "$KEY"
