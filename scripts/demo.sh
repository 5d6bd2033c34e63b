#!/usr/bin/env bash
# The demo: the seed's campaign (党纪学习教育, Guangdong) loaded into a running duban stack
# through dubanctl, with deadlines minutes away so that reminders arrive while you watch.
#
#   scripts/demo.sh                 # starts its own stack (scripts/run.sh, data in ./data-demo)
#   scripts/run.sh & scripts/demo.sh   # or uses a stack already answering on the ports
#
# What it does, step by step (each printed as it happens):
#   1. imports deploy/demo/units.csv: 广东省 → 佛山/东莞/江门/湛江/肇庆 → districts, towns,
#      villages and 56 party branches; adds liaison contacts (webhook and e-mail);
#   2. creates the demo reminder policy (deploy/demo/demo-policy.json: a reminder at the
#      deadline, any hour) and Foshan's plan, and imports its work-plan table
#      (deploy/demo/foshan-plan.csv: 13 key tasks with lead departments and milestones);
#   3. creates Zhaoqing's plan and a task due in DUBAN_DEMO_DEADLINE (default +2m), and
#      cascades it to every party branch under 肇庆市 (层层落实);
#   4. a few branches acknowledge, report and are closed before the deadline;
#   5. shows the battle map, waits for the reminders to go out (the ledger turns SENT; with the
#      log channel they appear in <data>/deliveries.jsonl, with webhooks in the sink's file),
#      then shows the battle map again (the open ones are now red) and who hasn't reported.
#
# Environment: DUBAN_PORT_BASE (7101), DUBAN_DEMO_DEADLINE (+2m), DUBAN_DEMO_WEBHOOK_BASE (the
# contacts' webhook URL prefix, default the run.sh sink http://127.0.0.1:<base+4>/),
# DUBAN_DEMO_DATA (./data-demo, when it starts its own stack), DUBAN_DEMO_WAIT (seconds to
# wait for reminders, 300), DUBAN_BUILD_DIR (build), DUBANCTL (a dubanctl binary to use).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

base=${DUBAN_PORT_BASE:-7101}
export DUBAN_UNITS_ADDR=${DUBAN_UNITS_ADDR:-127.0.0.1:$base}
export DUBAN_TASKS_ADDR=${DUBAN_TASKS_ADDR:-127.0.0.1:$((base + 1))}
export DUBAN_REMINDERS_ADDR=${DUBAN_REMINDERS_ADDR:-127.0.0.1:$((base + 2))}
export DUBAN_ACTOR=${DUBAN_ACTOR:-user:demo}
export DUBAN_ACTOR_NAME=${DUBAN_ACTOR_NAME:-演示}
deadline=${DUBAN_DEMO_DEADLINE:-+2m}
webhook_base=${DUBAN_DEMO_WEBHOOK_BASE:-http://127.0.0.1:$((base + 4))/}
wait_s=${DUBAN_DEMO_WAIT:-300}
build=${DUBAN_BUILD_DIR:-build}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
json() { # json EXPR: evaluates EXPR on the JSON document on stdin (d), prints the result
  python3 -c "import json,sys; d=json.load(sys.stdin); r=$1; print(r if not isinstance(r, list) else '\n'.join(map(str, r)))"
}

# dubanctl: built like run.sh builds the servers, unless given.
if [ -z "${DUBANCTL:-}" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    ./scripts/install-deps.sh
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUBAN_BUILD_TESTS=OFF \
      -DDUBAN_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$build" -j "${DUBAN_JOBS:-$(nproc)}" --target dubanctl >/dev/null
  DUBANCTL=$(find "$root/$build" -type f -name dubanctl -perm -u+x -print -quit)
fi
ctl() { "$DUBANCTL" "$@"; }

# A stack: the one answering on the ports, else our own scripts/run.sh.
stack_pid=
data=${DUBAN_DATA_DIR:-$root/data}
# (NOT_FOUND for a unit that cannot exist means duban-units answered.)
probe=$(ctl --timeout 2 units get no.such.unit 2>&1 || true)
if [[ $probe != *NOT_FOUND* ]]; then
  data=${DUBAN_DEMO_DATA:-$root/data-demo}
  step "starting the stack (scripts/run.sh, data in $data)"
  mkdir -p "$data"
  DUBAN_DATA_DIR=$data DUBAN_PORT_BASE=$base scripts/run.sh >"$data/run.out" 2>&1 &
  stack_pid=$!
  trap 'if [ -n "$stack_pid" ]; then kill -TERM "$stack_pid" 2>/dev/null; wait "$stack_pid" || true; fi' EXIT
  for ((n = 0; n < 1800; n++)); do
    grep -q '^READY' "$data/run.out" 2>/dev/null && break
    kill -0 "$stack_pid" 2>/dev/null || {
      cat "$data/run.out" >&2
      exit 1
    }
    sleep 0.5
  done
  grep -v '^READY' "$data/run.out" | sed -n '/the stack is up/,$p'
fi

step "1. the organisation tree (deploy/demo/units.csv) and liaisons"
ctl units import deploy/demo/units.csv
ctl units counts gd
ctl units tree gd.zq --depth 2
add_contact() { # add_contact UNIT NAME ROLE CHANNEL-FLAG VALUE
  ctl -o json units contacts add "$1" --name "$2" --role "$3" "$4" "$5" >/dev/null
}
# Idempotent enough for a demo: a second run adds a second liaison, which takes over.
add_contact gd.zq 陈督导 supervisor --email supervisor@zq.example.gov.cn
# Level 0 of a reminder is the unit's own liaison: every branch of Zhaoqing has one, on a
# webhook (run.sh's dev sink by default) named after its district.
mapfile -t branches < <(ctl -o json units list --subtree gd.zq --kind party_branch |
  json '[u["id"] for u in d.get("units", [])]')
for b in "${branches[@]}"; do
  district=$(cut -d. -f3 <<<"$b")
  add_contact "$b" "支部联络员-${b##*.}" liaison --webhook-url "${webhook_base}zq/$district/$b"
done
add_contact gd.zq.swzzb 周敏 liaison --webhook-url "${webhook_base}zq/swzzb"
for d in cc nh sd gm ss; do
  add_contact "gd.fs.$d" "联络员-$d" liaison --email "liaison.$d@fs.example.gov.cn"
done
add_contact gd.fs.zzb 李伟 liaison --webhook-url "${webhook_base}fs/zzb"
add_contact gd.fs.bgs 王芳 liaison --email wang.fang@fs.example.gov.cn
echo "liaisons added (webhooks to ${webhook_base}..., e-mail addresses on the log channel)"

step "2. the demo policy and Foshan's plan (市委党纪学习教育重点工作分工表)"
ctl policies get demo-minutes >/dev/null 2>&1 || ctl policies create deploy/demo/demo-policy.json
today=$(TZ=Asia/Shanghai date +%F)
end=$(TZ=Asia/Shanghai date -d '+90 days' +%F)
fs_plan=$(ctl -o json plans create --title "佛山市党纪学习教育工作方案" --owner gd.fs --margin 20 \
  --start "$today" --end "$end" | json 'd["id"]')
echo "plan $fs_plan"
ctl tasks import --plan "$fs_plan" deploy/demo/foshan-plan.csv

step "3. Zhaoqing: a task due at $deadline, cascaded to every party branch (层层落实)"
zq_plan=$(ctl -o json plans create --title "肇庆市党纪学习教育“一方案一清单”" --owner gd.zq \
  --start "$today" --end "$end" | json 'd["id"]')
zq_task=$(ctl -o json tasks create --plan "$zq_plan" --title "基层党支部结合“三会一课”开展党纪学习" \
  --lead gd.zq.swzzb --deadline "$deadline" --policy demo-minutes | json 'd["id"]')
echo "task $zq_task"
ctl tasks cascade "$zq_task" --root gd.zq --kind party_branch

step "4. four branches of 端州区 report and are closed before the deadline"
mapfile -t done_ids < <(ctl -o json assignments list --subtree gd.zq.dz.t1 --under "$zq_task" |
  json '[a["id"] for a in d.get("assignments", [])]')
for a in "${done_ids[@]}"; do
  ctl assignments ack "$a" --note "收到"
  ctl assignments report "$a" --percent 100 --text "已组织支部党员逐章学习《条例》"
  ctl assignments submit "$a" --note "请审核"
  ctl assignments approve "$a" --note "办结"
done
echo "${#done_ids[@]} assignments closed: their reminders are canceled"

step "the battle map (挂图作战) now, one row per district"
ctl board "$zq_plan" --root gd.zq --group-by child

step "5. waiting for the deadline's reminders (up to ${wait_s}s)"
start=$SECONDS
sent=0
shown=-1
count() { ctl -o json reminders list --plan "$zq_plan" --state "$1" | json 'len(d.get("reminders", []))'; }
while ((SECONDS - start < wait_s)); do
  sent=$(count sent)
  if [ "$sent" != "$shown" ]; then
    echo "$((SECONDS - start))s: $sent reminders sent"
    shown=$sent
  fi
  [ "$sent" -gt 0 ] && [ "$(count scheduled)" = 0 ] && [ "$(count failed)" = 0 ] && break
  sleep 2
done
[ -f "$data/deliveries.jsonl" ] && {
  echo "last messages in $data/deliveries.jsonl:"
  tail -n 3 "$data/deliveries.jsonl" | cut -c1-200
}
echo "a closed branch's ledger (its reminder was canceled):"
ctl reminders ledger "${done_ids[0]}"
open_id=$(ctl -o json assignments list --subtree gd.zq.dz.t2 --under "$zq_task" |
  json 'd["assignments"][0]["id"]')
echo "an open branch's ledger (its reminder was sent):"
ctl reminders ledger "$open_id"

step "the battle map after the deadline, and who hasn't reported (未报送)"
ctl board "$zq_plan" --root gd.zq --group-by child
ctl board coverage "$zq_task" --gap not-reported --limit 8
ctl reminders stats
if [ "$sent" = 0 ]; then
  echo "demo: no reminder was sent within ${wait_s}s" >&2
  exit 1
fi
echo
echo "demo done: $sent reminders sent. Try:"
echo "  $DUBANCTL board $fs_plan --group-by task"
echo "  $DUBANCTL board $zq_plan --html board.html"
if [ -n "$stack_pid" ]; then
  echo "The stack keeps running (data in $data); Ctrl-C stops it."
  wait "$stack_pid" || true
fi
