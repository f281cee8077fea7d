# A thin wrapper over Meson, so the usual words work:
#   make          build the programs into ./bin
#   make test     install missing packages, build, run every test (also under ASan+UBSan)
#   make demo     install missing packages, build, run the sample city end to end
#   make format   apply .clang-format;  make check-format  fail on unformatted code
#   make fuzz     fuzz the decoders of untrusted input (FUZZ_SECONDS each, default 600)
#   make bench    measure against PostgreSQL's own limits; writes bench/RESULTS.md
#                 (BENCH_FLAGS, e.g. BENCH_FLAGS="--schools 40000", scales it up)
BUILD    ?= build
BUILDSAN ?= build-san
PROGS     = edustat-collector edustat-aggregator edustat-sink edustat-keygen edustat-report
SOURCES   = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find lib collector aggregator sink tests -name '*.[ch]')

all: bin

$(BUILD)/build.ninja:
	meson setup $(BUILD)

bin: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	mkdir -p bin
	for p in $(PROGS); do cp -f $(BUILD)/$$p bin/$$p; done

$(BUILDSAN)/build.ninja:
	# clang for this build: a second compiler's warnings, and GCC 12 gives false
	# -Warray-bounds errors under -fsanitize=address.
	CC=clang meson setup $(BUILDSAN) -Db_sanitize=address,undefined -Db_lundef=false

deps:
	./scripts/deps.sh

test: deps
	$(MAKE) bin
	$(MAKE) check-format
	meson test -C $(BUILD) --print-errorlogs
	$(MAKE) $(BUILDSAN)/build.ninja
	ninja -C $(BUILDSAN)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	    meson test -C $(BUILDSAN) --print-errorlogs

demo: deps
	$(MAKE) bin
	./scripts/demo.sh

format:
	clang-format -i $(SOURCES)

check-format:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(BUILDSAN) bin

BENCH_FLAGS ?=
bench: deps
	$(MAKE) bin
	./bench/run.sh --build $(BUILD) $(BENCH_FLAGS)

FUZZ_SECONDS ?= 600
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)

.PHONY: all bin deps test demo format check-format clean fuzz bench
