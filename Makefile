# The two commands: `make run` and `make test`. Everything installs what it needs first.
BUILD_DIR ?= build/release
ASAN_DIR ?= build/asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DATA_DIR ?= ./burnrate-data

.PHONY: all deps configure build test run bench bench-compare bench-compare-small sanitize tsa format check-format clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

# Starts burnrated in the background on $(DATA_DIR), loads 3 days of demo data through
# HTTP and prints the address and example requests; `make stop` stops it.
run: build
	@./scripts/run-server.sh $(BUILD_DIR) $(DATA_DIR)

.PHONY: stop
stop:
	@if [ -f $(BUILD_DIR)/burnrated.pid ] && kill -0 $$(cat $(BUILD_DIR)/burnrated.pid) 2>/dev/null; then \
	  kill -TERM $$(cat $(BUILD_DIR)/burnrated.pid) && echo "stopped burnrated (pid $$(cat $(BUILD_DIR)/burnrated.pid))"; \
	else echo "no burnrated started by make run is running"; fi

bench: build
	@for b in $(BUILD_DIR)/bench/*_bench; do echo "== $$b"; $$b --benchmark_min_time=0.2 || exit 1; done

# The end-to-end comparison with InfluxDB 1.x, VictoriaMetrics and DuckDB (bench/compare,
# docs/benchmarks.md): installs the peers, generates 14 days x 1,000 series (about 20 M
# points; ARGS=--small for 1 M), runs every system in turn, prints the table and refreshes
# the results block and chart of docs/benchmarks.md. ARGS passes options to the driver
# (e.g. ARGS="--small --systems burnrate,duckdb").
bench-compare: build
	@./scripts/install-bench-deps.sh
	python3 bench/compare/compare.py --build-dir $(BUILD_DIR) --doc docs/benchmarks.md \
	  --results build/bench-compare/results.json $(ARGS)

bench-compare-small:
	@$(MAKE) --no-print-directory bench-compare ARGS="--small $(ARGS)"

sanitize: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBURNRATE_SANITIZE=address,undefined -DBURNRATE_BUILD_BENCHMARKS=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 1800

# clang's -Wthread-safety over the whole tree (checks ABSL_GUARDED_BY and friends).
tsa: deps
	CXX=clang++ cmake -S . -B build/tsa -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBURNRATE_WERROR=ON -DBURNRATE_BUILD_BENCHMARKS=OFF
	cmake --build build/tsa -j $(JOBS)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

check-format:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
