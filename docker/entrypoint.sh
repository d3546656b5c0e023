#!/bin/sh
# Container entry point: start the HTTP service (python -m service, options appended), or run any
# other command given (e.g. `docker run IMAGE python -m model.evaluate --help`).
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- python -m service "$@"
fi
exec "$@"
