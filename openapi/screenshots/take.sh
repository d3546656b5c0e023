#!/usr/bin/env bash
# Screenshots of /docs and /redoc from headless Chromium (Debian chromium) with every host but 127.0.0.1
# unresolvable (offline): bash openapi/screenshots/take.sh; files in /tmp/shots.
set -e
cd "$(dirname "$0")/../.."
export RSCNET_DEVICE=cpu RSCNET_PRECISION=fp32 RSCNET_TORCH_THREADS=1 OMP_NUM_THREADS=1 RSCNET_WARMUP=false RSCNET_WORKER=thread
export RSCNET_CHECKPOINT=/tmp/absent/model.pt RSCNET_TEXTURE_CHECKPOINT=/tmp/absent/t.pt RSCNET_VIDEO_CHECKPOINT=/tmp/absent/v.pt
export RSCNET_RANDOM_INIT_NET='{"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}'
.venv/bin/python -m service --port 18765 > /tmp/shot-server.log 2>&1 &
PID=$!
for i in $(seq 1 120); do curl -sf http://127.0.0.1:18765/readyz >/dev/null && break; sleep 0.5; done
mkdir -p /tmp/shots
for page in docs redoc; do
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --host-resolver-rules="MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" \
    --virtual-time-budget=15000 --window-size=1280,1400 \
    --screenshot=/tmp/shots/$page.png http://127.0.0.1:18765/$page > /tmp/shots/$page.log 2>&1 || echo "chromium $page rc=$?"
done
kill $PID; wait $PID || true
ls -la /tmp/shots
