#!/usr/bin/env bash
# Make the working tree that travels to the device machine small enough (the device tool sends
# tracked and untracked-not-ignored files, at most 64 MiB; the repository's tracked files are ~119 MB,
# most of them served checkpoints a GPU stretch does not need).
#   bash scripts/gpu_slim.sh on      # before run(command="bash scripts/gpu_stretch.sh", carry=[".gpu"])
#   bash scripts/gpu_slim.sh off     # after: the index and .git/info/exclude as they were
#   bash scripts/gpu_slim.sh size    # what would travel now (MiB)
# "on" takes every tracked file outside KEEP out of the index (git rm --cached: the files stay on
# disk) and ignores it through .git/info/exclude, between marker lines; "off" restores the index
# (git reset) and removes those lines. Nothing is committed; "on" refuses uncommitted changes so
# that "off" loses none. KEEP: what scripts/gpu_stretch.sh runs on -- the training package, the
# configs, the scripts, the resume file of the long run.
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP_RE=${KEEP_RE:-'^(model/|configs/|scripts/|pyproject\.toml$|Makefile$|checkpoints/rscnet-long/model\.pt$)'}
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"
LIST="$(git rev-parse --git-dir)/gpu_slim.list"
BEGIN="# gpu_slim begin"
END="# gpu_slim end"

travelling_mib() {
    { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r du -cb -- 2>/dev/null \
        | awk '$2 == "total" { s += $1 } END { printf "%.1f\n", s / 1048576 }'
}

case "${1:-}" in
on)
    if grep -qx "$BEGIN" "$EXCLUDE" 2>/dev/null; then
        echo "gpu_slim: already on ($(travelling_mib) MiB travel)"; exit 0
    fi
    if ! git diff --quiet || ! git diff --cached --quiet; then
        echo "gpu_slim: commit or stash your changes first (off restores the index from HEAD)" >&2; exit 1
    fi
    git ls-files | grep -Ev "$KEEP_RE" > "$LIST" || true
    if [ -s "$LIST" ]; then
        xargs -a "$LIST" -d '\n' git rm -q --cached --
    fi
    mkdir -p "$(dirname "$EXCLUDE")"
    { echo "$BEGIN"; sed 's#^#/#' "$LIST"; echo "$END"; } >> "$EXCLUDE"
    echo "gpu_slim: on; $(wc -l < "$LIST") files out of the index, $(travelling_mib) MiB travel"
    ;;
off)
    if grep -qx "$BEGIN" "$EXCLUDE" 2>/dev/null; then
        sed -i "/^$BEGIN\$/,/^$END\$/d" "$EXCLUDE"
    fi
    git reset -q
    rm -f "$LIST"
    echo "gpu_slim: off; $(travelling_mib) MiB would travel"
    ;;
size)
    echo "$(travelling_mib) MiB would travel"
    ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
