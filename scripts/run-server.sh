#!/usr/bin/env bash
# `make run`: starts burnrated in the background on a data directory, loads three days of
# demo telemetry through HTTP with `burnrate write`, and prints where the server is and how
# to use it. Usage: scripts/run-server.sh BUILD_DIR DATA_DIR
set -euo pipefail

build_dir=${1:-build/release}
data_dir=${2:-./burnrate-data}
address=127.0.0.1:8086
url=http://$address
burnrated=$build_dir/server/burnrated
burnrate=$build_dir/tools/burnrate
pid_file=$build_dir/burnrated.pid
log_file=$build_dir/burnrated.log

# A server left running by an earlier `make run` is stopped first (it holds the data
# directory's lock and the port).
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "run: stopping the burnrated started earlier (pid $(cat "$pid_file"))"
  kill -TERM "$(cat "$pid_file")"
  while kill -0 "$(cat "$pid_file")" 2>/dev/null; do sleep 0.2; done
fi

"$burnrated" --data-dir "$data_dir" --http "$address" --create-database burnrate --quiet \
  >"$log_file" 2>&1 &
echo $! >"$pid_file"

for _ in $(seq 1 50); do
  if curl -sf -o /dev/null "$url/ping"; then break; fi
  if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "run: burnrated did not start:" >&2
    cat "$log_file" >&2
    exit 1
  fi
  sleep 0.2
done

echo "run: loading 3 days of demo telemetry (200 series, 864,000 points) through $url/write"
"$burnrate" gen --days 3 --series 200 | "$burnrate" write --url "$url" --db burnrate -

cat <<MSG

burnrated is running at $url (pid $(cat "$pid_file"), data $data_dir, log $log_file).
Stop it with: make stop   (or kill $(cat "$pid_file"))

Try:
  curl -i $url/ping
  curl -i -XPOST '$url/write?db=burnrate' --data-binary 'cost,run_id=TrainFlow/1,resource=i-0abc cost=0.0425,gpu_util=0.93,gpu_count=4i'
  curl -G $url/query --data-urlencode db=burnrate --data-urlencode 'q=SELECT sum(cost) FROM cost GROUP BY run_id'
  $burnrate query --url $url --db burnrate -e 'SELECT sum(cost) FROM cost GROUP BY cloud'
  $burnrate query --url $url --db burnrate   (interactive prompt; help lists its commands)
  influx -host 127.0.0.1 -port 8086 -database burnrate   (the InfluxDB 1.x CLI, if installed)
The API: docs/http.md; the query language: docs/query.md.
MSG
