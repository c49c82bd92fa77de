# Shared by scripts/start and scripts/test: tool bootstrap, shared build cache, private PostgreSQL.
# Sourced, not run.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${CADENCE_CACHE_DIR:-$HOME/.cache/cadence}"
CARGO_LEPTOS_VERSION="0.3.10"
export PATH="$HOME/.cargo/bin:$REPO_ROOT/end2end/node_modules/.bin:$PATH"
# Read at compile time by leptos (hydration file names); every cargo call must agree on it so
# the server build, the tests and cargo-leptos share one cache instead of rebuilding.
export LEPTOS_OUTPUT_NAME="cadence"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# need_debian_tool COMMAND PACKAGE WHY: installs Debian's PACKAGE when COMMAND is missing (as
# root), or fails with the command that would (as anyone else).
need_debian_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ]; then
    say "Installing Debian's $2 ($3)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "$1 is missing; install it with: sudo apt-get install $2" >&2
    return 1
  fi
}

# stop_background PID: stops a process this script started and waits for it. Its exit status
# is not ours: a stand-in killed by SIGTERM exits 143, and under `set -e` that status would
# otherwise become the script's own (a green run reported red).
stop_background() {
  [ -n "${1:-}" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# The build cache lives outside the clone so fresh clones (and CI runs) reuse it.
use_shared_target_dir() {
  mkdir -p "$CACHE_DIR/target"
  if [ -L "$REPO_ROOT/target" ]; then
    ln -sfn "$CACHE_DIR/target" "$REPO_ROOT/target"
  elif [ ! -e "$REPO_ROOT/target" ]; then
    ln -s "$CACHE_DIR/target" "$REPO_ROOT/target"
  fi
  # Cargo gives a workspace crate the same artifact names in every clone and judges freshness
  # by file times, so another clone's newer build could pass for this one's. When the last
  # build came from elsewhere, make this clone's sources newer: its own crates rebuild, the
  # dependencies stay cached.
  local marker="$CACHE_DIR/target/.built-from"
  if [ "$(cat "$marker" 2>/dev/null)" != "$REPO_ROOT" ]; then
    find "$REPO_ROOT/app" "$REPO_ROOT/server" "$REPO_ROOT/sandbox" "$REPO_ROOT/frontend" \
      "$REPO_ROOT/migrations" "$REPO_ROOT/Cargo.toml" -type f -exec touch {} +
    echo "$REPO_ROOT" >"$marker"
  fi
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO_ROOT/Cargo.lock"
}

# Installs what is missing; each step skips itself when already done.
bootstrap_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local wb_version
  wb_version="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version\$"; then
    say "Installing wasm-bindgen-cli $wb_version (about 5 minutes on 2 cores)"
    # Not --locked: its lock file pins a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$wb_version" --force
  fi
}

# Only for developers who run `cargo leptos watch` etc. themselves: the scripts build the site
# with build_site and never need it.
bootstrap_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores)"
    # 0.3.11 needs rustc 1.96; no_downloads makes a missing tool an error, not a network wait.
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads --force
  fi
}

bootstrap_browser_tools() {
  if [ ! -x "$REPO_ROOT/end2end/node_modules/.bin/playwright" ] \
    || [ "$REPO_ROOT/end2end/package-lock.json" -nt "$REPO_ROOT/end2end/node_modules/.package-lock.json" ]; then
    say "Installing Playwright (npm; no browser download)"
    (cd "$REPO_ROOT/end2end" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  need_debian_tool chromium chromium "for Playwright"
}

# Binaryen's wasm-opt from npm, pinned. Debian's (108) predates what wasm-bindgen 0.2.130 emits:
# the wasm it writes fails at load ("WebAssembly.Table.set(): Argument 1 is invalid"), so the
# release bundle never hydrated.
BINARYEN_VERSION=132.0.0
WASM_OPT="$CACHE_DIR/binaryen-$BINARYEN_VERSION/node_modules/.bin/wasm-opt"
bootstrap_wasm_opt() {
  if [ ! -x "$WASM_OPT" ]; then
    say "Installing binaryen $BINARYEN_VERSION (npm) for wasm-opt"
    npm install --prefix "$CACHE_DIR/binaryen-$BINARYEN_VERSION" --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION"
  fi
}

postgres_bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$dir" ]; then
    echo "PostgreSQL binaries not found; install them with: apt-get install postgresql" >&2
    return 1
  fi
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_private_postgres DIR [extra postgres options]
# Starts (creating if needed) a PostgreSQL cluster in DIR on a free 127.0.0.1 port, and sets
# PRIVATE_PG_DIR and PRIVATE_PG_URL (…/postgres, carrying the password). PostgreSQL refuses to
# run as root, so as root the cluster belongs to the `postgres` system user.
#
# The superuser has a random password (in DIR/cadence-password, readable by its owner only) and
# every connection needs it (scram-sha-256): with trust auth any local user of the machine was
# superuser, could read session rows and run programs through COPY … TO PROGRAM.
start_private_postgres() {
  local dir="$1"; shift
  local bin run_as=() port password_file password
  bin="$(postgres_bin_dir)"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    # The cluster runs as `postgres`, which must reach DIR. A checkout in a private home (mode
    # 700, as /root is) hides it: the cluster then lives in postgres's own home, one per DIR,
    # and DIR becomes a link to it, so the next start finds it again.
    if [ ! -L "$dir" ] && ! runuser -u postgres -- test -x "$dir/.." 2>/dev/null; then
      local home real
      home="$(getent passwd postgres | cut -d: -f6)"
      real="${home:-/var/lib/postgresql}/cadence-$(printf '%s' "$dir" | sha256sum | cut -c1-16)"
      mkdir -p "$real"
      if [ -z "$(ls -A "$dir")" ]; then
        rmdir "$dir" && ln -s "$real" "$dir"
      fi
    fi
    if [ -L "$dir" ]; then
      dir="$(readlink -f "$dir")"
    fi
    chown postgres "$dir"
    chmod 700 "$dir"
    run_as=(runuser -u postgres --)
  fi
  password_file="$dir/cadence-password"
  if [ ! -f "$dir/PG_VERSION" ]; then
    password="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    # initdb wants an empty directory, so the password waits in a private file outside it.
    local pwfile
    pwfile="$(mktemp)"
    printf '%s\n' "$password" >"$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    "${run_as[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" \
      -E UTF8 --no-instructions >/dev/null
    rm -f "$pwfile"
    (umask 077; printf '%s\n' "$password" >"$password_file")
  fi
  port="$(free_port)"
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $*" start >/dev/null
  if [ ! -f "$password_file" ]; then
    # A cluster made before passwords (trust auth): give it one, then require it.
    password="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    # On stdin, not the command line: other users can read command lines.
    echo "ALTER USER postgres PASSWORD '$password'" | psql "postgres://postgres@127.0.0.1:$port/postgres" -q >/dev/null
    (umask 077; printf '%s\n' "$password" >"$password_file")
    "${run_as[@]}" sh -c "sed -i -E 's/[[:space:]]trust[[:space:]]*$/ scram-sha-256/' '$dir/pg_hba.conf'"
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir" reload >/dev/null
  fi
  password="$(cat "$password_file")"
  PRIVATE_PG_DIR="$dir"
  PRIVATE_PG_URL="postgres://postgres:$password@127.0.0.1:$port/postgres"
  export PRIVATE_PG_DIR PRIVATE_PG_URL
}

stop_private_postgres() {
  if [ -n "${PRIVATE_PG_DIR:-}" ] && [ -f "$PRIVATE_PG_DIR/postmaster.pid" ]; then
    local bin run_as=()
    bin="$(postgres_bin_dir)"
    [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
    "${run_as[@]}" "$bin/pg_ctl" -D "$PRIVATE_PG_DIR" -m fast -w stop >/dev/null || true
  fi
}

# psql_at URL ARGS…: psql on URL, with a password in the URL passed through PGPASSWORD rather
# than the command line, which every user of the machine can read.
psql_at() {
  local url="$1"; shift
  if [[ "$url" =~ ^(postgres(ql)?://[^:/@]+):([^@/]*)@(.*)$ ]]; then
    PGPASSWORD="${BASH_REMATCH[3]}" psql "${BASH_REMATCH[1]}@${BASH_REMATCH[4]}" "$@"
  else
    psql "$url" "$@"
  fi
}

# create_database URL NAME: creates NAME on the server of URL unless it exists.
create_database() {
  local base="${1%/*}" name="$2"
  if [ "$(psql_at "$1" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != "1" ]; then
    psql_at "$1" -qc "CREATE DATABASE \"$name\"" >/dev/null
  fi
  echo "$base/$name"
}

# An S3-compatible server for the media bucket tests: moto's, from PyPI, in a venv in the cache.
MOTO_VERSION="5.2.5"
bootstrap_s3_stand_in() {
  local venv="$CACHE_DIR/s3venv"
  # sed reads pip's whole answer (see bootstrap_smtp_stand_in: `grep -q` plus pipefail made
  # every run reinstall moto).
  if ! "$venv/bin/moto_server" --help >/dev/null 2>&1 \
    || [ "$("$venv/bin/pip" show moto 2>/dev/null | sed -n 's/^Version: //p')" != "$MOTO_VERSION" ]; then
    say "Installing moto $MOTO_VERSION (an S3 stand-in for the media bucket tests)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION"
  fi
}

# start_s3_stand_in LOG: runs moto's S3 on a free port; sets S3_STAND_IN_PID and TEST_S3_ENDPOINT.
start_s3_stand_in() {
  local port
  port="$(free_port)"
  "$CACHE_DIR/s3venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$1" 2>&1 &
  S3_STAND_IN_PID=$!
  TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export S3_STAND_IN_PID TEST_S3_ENDPOINT
  for _ in $(seq 1 60); do
    curl -fsS "$TEST_S3_ENDPOINT/" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "the S3 stand-in did not start; see $1" >&2
  return 1
}

# An SMTP server for the e-mail tests: aiosmtpd, from PyPI, in a venv in the cache (as moto).
AIOSMTPD_VERSION="1.4.6"
bootstrap_smtp_stand_in() {
  local venv="$CACHE_DIR/smtpvenv"
  # sed reads pip's whole answer: `grep -q` would stop early, and under pipefail pip's
  # broken pipe would then count as "not installed".
  if [ "$("$venv/bin/pip" show aiosmtpd 2>/dev/null | sed -n 's/^Version: //p')" != "$AIOSMTPD_VERSION" ]; then
    say "Installing aiosmtpd $AIOSMTPD_VERSION (an SMTP server for the e-mail tests)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION"
  fi
}

# bootstrap_proxies: Debian's nginx and Caddy, for running deploy/'s examples in front of the
# release archive. Unpacked into the cache rather than installed, so no daemon starts on port 80
# and no root is needed; those already on PATH are used as they are.
bootstrap_proxies() {
  local dir="$CACHE_DIR/proxies"
  export PATH="$PATH:$dir/usr/sbin:$dir/usr/bin"
  command -v nginx >/dev/null 2>&1 && command -v caddy >/dev/null 2>&1 && return 0
  say "Fetching Debian's nginx and Caddy (deploy/'s proxy examples run in front of the archive)"
  local debs
  debs="$(mktemp -d)"
  (cd "$debs" && apt-get download nginx caddy >/dev/null 2>&1) || {
    [ "$(id -u)" = 0 ] && apt-get update -qq && (cd "$debs" && apt-get download nginx caddy >/dev/null 2>&1)
  }
  mkdir -p "$dir"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
  rm -rf "$debs"
  command -v nginx >/dev/null && command -v caddy >/dev/null
}

# start_smtp_stand_in DIR LOG: runs aiosmtpd on a free loopback port, writing every message it
# receives into the maildir DIR; sets SMTP_STAND_IN_PID, TEST_SMTP_ADDR and TEST_SMTP_DIR.
start_smtp_stand_in() {
  local port
  port="$(free_port)"
  # Maildir only makes its tmp, new and cur folders in a directory it creates itself.
  mkdir -p "$1/tmp" "$1/new" "$1/cur"
  "$CACHE_DIR/smtpvenv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$1" >"$2" 2>&1 &
  SMTP_STAND_IN_PID=$!
  TEST_SMTP_ADDR="127.0.0.1:$port"
  TEST_SMTP_DIR="$1"
  export SMTP_STAND_IN_PID TEST_SMTP_ADDR TEST_SMTP_DIR
  for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "the SMTP stand-in did not start; see $2" >&2
  return 1
}

# Release builds erase component types (Leptos' `erase_components`): each component's view
# becomes one AnyView instead of a type nested per element, which takes a third off the wasm.
# Server and wasm must agree, since hydration reads the markers the server wrote (an erased
# wasm on a typed server panics "unreachable" in tachys' hydration). Debug builds stay typed so
# `cargo test` and the debug site share one build cache; every release build (site, package,
# benchmarks) passes these same flags, or cargo would rebuild the release cache each time.
RELEASE_RUSTFLAGS="--cfg erase_components"

# build_site [--release]: what `cargo leptos build [--release]` does with this workspace's
# [[workspace.metadata.leptos]], without cargo-leptos (saving its 15-minute install): the
# server binary, the wasm frontend in <target>/front, wasm-bindgen into <site>/pkg,
# style/main.css beside them and public/ at the site's root. As with `hash-files`, the wasm, js
# and css get a hash of their bytes in their names (cadence.<hash>.wasm), listed in
# <site>/hash.txt, which the server reads (app/src/assets.rs) and keeps for a year in browsers.
# Release adds lib-profile-release (wasm-release) and binaryen's wasm-opt (bootstrap_wasm_opt).
# The site goes to LEPTOS_SITE_ROOT (default target/site, as site-root says).
build_site() {
  local release="${1:-}" site server_profile=debug start
  site="${LEPTOS_SITE_ROOT:-$REPO_ROOT/target/site}"
  if [ "$release" = --release ]; then
    server_profile=release
  fi
  start=$SECONDS
  say "Building the server ($server_profile)"
  if [ "$release" = --release ]; then
    RUSTFLAGS="$RELEASE_RUSTFLAGS" cargo build --package=server --bin=server --no-default-features --release
  else
    cargo build --package=server --bin=server --no-default-features
  fi
  build_bundle "$release"
  cp -r "$REPO_ROOT/public/." "$site/"
  say "Site built in $((SECONDS - start)) s"
}

# build_bundle [--release]: the wasm, js and css of the site (pkg/ and hash.txt in
# LEPTOS_SITE_ROOT), without the server; what `scripts/bench client` measures.
build_bundle() {
  local release="${1:-}" target site profile_args=() front_profile=debug rustflags="" start=$SECONDS
  target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
  site="${LEPTOS_SITE_ROOT:-$REPO_ROOT/target/site}"
  if [ "$release" = --release ]; then
    profile_args=(--profile=wasm-release)
    front_profile=wasm-release
    rustflags="$RELEASE_RUSTFLAGS"
  fi
  say "Building the wasm frontend ($front_profile)"
  # Erased in release only, as the server is (RELEASE_RUSTFLAGS).
  RUSTFLAGS="$rustflags" cargo build --package=frontend --lib --target-dir="$target/front" --target=wasm32-unknown-unknown \
    --no-default-features "${profile_args[@]}"
  say "Generating the site in $site after $((SECONDS - start)) s"
  rm -rf "$site/pkg"
  rm -f "$site/hash.txt"
  mkdir -p "$site/pkg"
  wasm-bindgen --target=web --out-name="$LEPTOS_OUTPUT_NAME" --out-dir="$site/pkg" \
    "$target/front/wasm32-unknown-unknown/$front_profile/frontend.wasm"
  mv "$site/pkg/${LEPTOS_OUTPUT_NAME}_bg.wasm" "$site/pkg/$LEPTOS_OUTPUT_NAME.wasm"
  rm -f "$site/pkg/"*.d.ts
  if [ "$release" = --release ]; then
    bootstrap_wasm_opt
    "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$site/pkg/$LEPTOS_OUTPUT_NAME.wasm" -o "$site/pkg/$LEPTOS_OUTPUT_NAME.wasm"
  fi
  cp "$REPO_ROOT/style/main.css" "$site/pkg/$LEPTOS_OUTPUT_NAME.css"
  local kind hash
  for kind in js wasm css; do
    hash="$(sha256sum "$site/pkg/$LEPTOS_OUTPUT_NAME.$kind" | cut -c1-16)"
    mv "$site/pkg/$LEPTOS_OUTPUT_NAME.$kind" "$site/pkg/$LEPTOS_OUTPUT_NAME.$hash.$kind"
    echo "$kind: $hash" >>"$site/hash.txt"
  done
  say "Bundle built in $((SECONDS - start)) s"
}
