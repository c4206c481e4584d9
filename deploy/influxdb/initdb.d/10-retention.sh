#!/bin/sh
# Run once by the InfluxDB image on the first start of an empty volume, after it created the
# database and users ($INFLUX_CMD is its `influx … -execute` as the admin). The database's default
# retention policy keeps readings for INFLUX_RETENTION (an InfluxQL duration such as 520w, or INF),
# in shards of 4 weeks so that expiry frees space a month at a time. Later changes: docs/operations.md.
set -eu
retention=${INFLUX_RETENTION:-520w}
# Digits and one unit only: the value is pasted into a statement.
bad() { echo "10-retention: INFLUX_RETENTION must be an InfluxQL duration (e.g. 520w, 3650d) or INF; found '$retention'" >&2; exit 1; }
case $retention in
  INF) ;;
  '' | *[!0-9hdw]* | [hdw]* | *[hdw]*[hdw]*) bad ;;
  *[hdw]) ;;
  *) bad ;;
esac
$INFLUX_CMD "ALTER RETENTION POLICY \"autogen\" ON \"${INFLUXDB_DB:-tuojiang}\" DURATION $retention SHARD DURATION 4w DEFAULT"
