#!/bin/sh
# examples/run.sh -- run the client examples as tests against a running server.
#
# Each example (python, java, node; the ORMs sequelize, typeorm,
# activerecord, hibernate, sqlalchemy, django; pipeline, on a table of kind
# hash; eventstore, on a table of kind stream) is a real client program
# that plays a lost update (eventstore: two conflicting appends) against
# occ and exits non-zero if anything does not happen as it says.  This
# script installs what they need if it is missing (Debian's python3-psycopg, a JDK
# and the PostgreSQL JDBC driver, ruby-activerecord and ruby-pg,
# libhibernate3-java and libjavassist-java, python3-sqlalchemy,
# python3-django and python3-psycopg2; node-postgres, Sequelize and TypeORM
# from the npm registry into examples/node, examples/sequelize,
# examples/typeorm, at the versions their package-lock.json pins), runs
# each one, and prints
# "example NAME ... ok" or "... FAILED" followed by the program's output,
# then "examples: N passed, M failed".  Exits non-zero if any failed.
#
# The server: PGHOST, PGPORT, PGUSER, PGDATABASE (and PGPASSWORD if needed),
# as for psql; occ must be installed on it (the examples run
# CREATE EXTENSION IF NOT EXISTS occ).  pgJDBC cannot reach a unix socket,
# so the java and hibernate examples use OCC_TCP_HOST and OCC_TCP_PORT if
# set, else PGHOST and PGPORT, which must then name a TCP host; the node ones
# use them too.
#
#   sh examples/run.sh              # every example
#   sh examples/run.sh python node  # some of them

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TIMEOUT=120                     # seconds allowed to each example
PYTHON=/usr/bin/python3         # Debian's, which python3-psycopg is built for
RUBY=/usr/bin/ruby              # Debian's, which ruby-activerecord is packaged for
JDBC_JAR=/usr/share/java/postgresql.jar
# Hibernate 3.6 and what it loads, from Debian's libhibernate3-java, its
# dependencies, libjavassist-java (only recommended by libhibernate3-java,
# but Hibernate cannot build an entity without it) and slf4j-nop (quiet logs).
J=/usr/share/java
HIBERNATE_CP=$J/hibernate-core.jar:$J/hibernate-commons-annotations.jar:$J/geronimo-jpa_2.0_spec.jar
HIBERNATE_CP=$HIBERNATE_CP:$J/geronimo-jta-1.2-spec.jar:$J/antlr.jar:$J/commons-collections3.jar
HIBERNATE_CP=$HIBERNATE_CP:$J/dom4j.jar:$J/javassist.jar:$J/slf4j-api.jar:$J/slf4j-nop.jar:$JDBC_JAR
TCP_HOST=${OCC_TCP_HOST:-${PGHOST:-localhost}}
TCP_PORT=${OCC_TCP_PORT:-${PGPORT:-5432}}

WORK=$(mktemp -d /tmp/occ-examples.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Collect what each example needs from Debian into APT_MISSING.
APT_MISSING=""
need() {
    case $1 in
    python | pipeline | eventstore)
        "$PYTHON" -c 'import psycopg' 2>/dev/null || APT_MISSING="$APT_MISSING python3-psycopg" ;;
    java)
        command -v javac >/dev/null 2>&1 || APT_MISSING="$APT_MISSING default-jdk-headless"
        [ -f "$JDBC_JAR" ] || APT_MISSING="$APT_MISSING libpostgresql-jdbc-java" ;;
    node | sequelize | typeorm)
        command -v npm >/dev/null 2>&1 || APT_MISSING="$APT_MISSING nodejs npm" ;;
    activerecord)
        "$RUBY" -e 'require "active_record"; require "pg"' 2>/dev/null ||
            APT_MISSING="$APT_MISSING ruby-activerecord ruby-pg" ;;
    hibernate)
        command -v javac >/dev/null 2>&1 || APT_MISSING="$APT_MISSING default-jdk-headless"
        [ -f "$JDBC_JAR" ] || APT_MISSING="$APT_MISSING libpostgresql-jdbc-java"
        [ -f "$J/hibernate-core.jar" ] || APT_MISSING="$APT_MISSING libhibernate3-java"
        [ -f "$J/javassist.jar" ] || APT_MISSING="$APT_MISSING libjavassist-java" ;;
    sqlalchemy)
        "$PYTHON" -c 'import sqlalchemy' 2>/dev/null || APT_MISSING="$APT_MISSING python3-sqlalchemy"
        "$PYTHON" -c 'import psycopg2' 2>/dev/null || APT_MISSING="$APT_MISSING python3-psycopg2" ;;
    django)
        "$PYTHON" -c 'import django' 2>/dev/null || APT_MISSING="$APT_MISSING python3-django"
        "$PYTHON" -c 'import psycopg2' 2>/dev/null || APT_MISSING="$APT_MISSING python3-psycopg2" ;;
    esac
}

# Install it quietly; show apt's and npm's output only if they fail.
install_missing() {
    if [ -n "$APT_MISSING" ]; then
        echo "examples: installing$APT_MISSING"
        # shellcheck disable=SC2086 # a list of package names
        { as_root apt-get update -q &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $APT_MISSING; } \
            >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log"; exit 1; }
    fi
    for name; do
        case $name in
        node) module=pg ;;
        sequelize | typeorm) module=$name ;;
        *) continue ;;
        esac
        if [ ! -d "$HERE/$name/node_modules/$module" ]; then
            (cd "$HERE/$name" && npm install --no-audit --no-fund) >"$WORK/npm.log" 2>&1 ||
                { cat "$WORK/npm.log"; exit 1; }
        fi
    done
}

# The command that runs one example; prints its output.
run_example() {
    case $1 in
    python)
        timeout "$TIMEOUT" "$PYTHON" "$HERE/python/lost_update.py" ;;
    pipeline)
        timeout "$TIMEOUT" "$PYTHON" "$HERE/pipeline/vendor_sync.py" ;;
    eventstore)
        timeout "$TIMEOUT" "$PYTHON" "$HERE/eventstore/kanban.py" ;;
    java)
        # A short-lived JVM starts faster with the quick JIT and serial GC.
        mkdir -p "$WORK/classes" &&
        javac -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC \
            -cp "$JDBC_JAR" -d "$WORK/classes" "$HERE/java/LostUpdate.java" &&
        PGHOST=$TCP_HOST PGPORT=$TCP_PORT timeout "$TIMEOUT" \
            java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
            -cp "$JDBC_JAR:$WORK/classes" LostUpdate ;;
    node)
        PGHOST=$TCP_HOST PGPORT=$TCP_PORT timeout "$TIMEOUT" node "$HERE/node/lost_update.js" ;;
    sequelize | typeorm)
        PGHOST=$TCP_HOST PGPORT=$TCP_PORT timeout "$TIMEOUT" node "$HERE/$1/optimistic_lock.js" ;;
    activerecord)
        timeout "$TIMEOUT" "$RUBY" "$HERE/activerecord/lost_update.rb" ;;
    hibernate)
        mkdir -p "$WORK/hibernate-classes" &&
        javac -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC \
            -cp "$HIBERNATE_CP" -d "$WORK/hibernate-classes" "$HERE/hibernate/LostUpdate.java" &&
        PGHOST=$TCP_HOST PGPORT=$TCP_PORT timeout "$TIMEOUT" \
            java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
            -cp "$HIBERNATE_CP:$WORK/hibernate-classes" LostUpdate ;;
    sqlalchemy)
        timeout "$TIMEOUT" "$PYTHON" "$HERE/sqlalchemy/versioned.py" ;;
    django)
        timeout "$TIMEOUT" "$PYTHON" "$HERE/django/versioned.py" ;;
    *)
        echo "no such example: $1 (python, java, node, sequelize, typeorm, activerecord, hibernate,"
        echo "sqlalchemy, django, pipeline, eventstore)"
        return 1 ;;
    esac
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

[ $# -gt 0 ] || set -- python java node sequelize typeorm activerecord hibernate sqlalchemy django pipeline eventstore
for name; do need "$name"; done
install_missing "$@"

passed=0
failed=0
for name; do
    start=$(now_ms)
    if run_example "$name" >"$WORK/$name.out" 2>&1; then
        echo "example $name ... ok    $(($(now_ms) - start)) ms"
        passed=$((passed + 1))
    else
        echo "example $name ... FAILED    $(($(now_ms) - start)) ms"
        sed 's/^/    /' "$WORK/$name.out"
        failed=$((failed + 1))
    fi
done
echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
