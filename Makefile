# mnist-service: see README.md. Every build goes into $(B) (default build/).
# Module fragments (common/, worker/, frontend/, tests/ module.mk) add their
# binaries to BINS, test programs to TEST_BINS and fuzzers to FUZZERS.

B        ?= build
CC       ?= cc
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
            -Icommon -Iworker -Iworker/image -Iworker/engine -Ifrontend $(SANFLAGS)
LDFLAGS  += -pthread $(SANFLAGS)
LDLIBS   += -lm
PREFIX   ?= /usr/local
DATA     := $(B)/data
WEIGHTS  := weights/model.safetensors

# Packages come first: the link flags below are read from pkg-config as this
# file is parsed, so scripts/deps.sh must have installed the -dev packages
# before that (on a bare machine the first `make` would otherwise link
# without them). Only the top-level make does it, and not for `make -n`,
# `make clean` or `make format`; goals that run tests, clang or Python get
# the test list. A stamp per list skips the dpkg check until deps.sh changes.
NO_DEPS_GOALS := clean format
TEST_GOALS    := test test-deps asan fuzz fuzzers bench weights data stress
ifeq ($(MAKELEVEL),0)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(findstring n,$(filter-out --%,$(firstword $(MAKEFLAGS)))),)
DEPS_LIST  := $(if $(filter $(TEST_GOALS),$(MAKECMDGOALS)),test,build)
DEPS_STAMP := $(B)/.deps-$(DEPS_LIST)
ifneq ($(shell [ $(DEPS_STAMP) -nt scripts/deps.sh ] && echo ok),ok)
ifneq ($(shell sh scripts/deps.sh $(DEPS_LIST) >&2 && mkdir -p $(B) && touch $(DEPS_STAMP) && echo ok),ok)
$(error scripts/deps.sh $(DEPS_LIST) failed: the packages above are missing)
endif
endif
endif
endif
endif

# nng 1.5 from Debian has no pkg-config file; the others do.
pc = $(shell pkg-config --cflags --libs $(1) 2>/dev/null)
LIB_nng     := -lnng
LIB_h2o     := $(call pc,libh2o-evloop) -lssl -lcrypto
LIB_crypto  := $(call pc,libcrypto)
LIB_msgpack := $(call pc,msgpack)
LIB_jansson := $(call pc,jansson)
LIB_blas    := $(call pc,openblas)
LIB_png     := $(call pc,libpng)
LIB_jpeg    := -ljpeg
LIB_systemd := $(call pc,libsystemd)

BINS      :=
TEST_BINS :=
FUZZERS   :=

# `make` alone builds everything: the module fragments below define rules
# before `all` does.
.DEFAULT_GOAL := all

.PHONY: all deps test-deps run test asan fuzz fuzzers bench stress weights data format install clean

# libFuzzer harnesses: clang, built apart from the normal objects (make fuzzers).
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -std=c17 -g -O1 -D_GNU_SOURCE -Icommon -Ifrontend -Iworker/image \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

# In the order data flows: shared pieces, the HTTP side, the worker and
# what it holds, the tools, then tests and installation.
include common/module.mk
include frontend/module.mk
include frontend/www/module.mk
include worker/image/module.mk
include worker/engine/module.mk
include worker/module.mk
include tools/module.mk
include tests/module.mk
include systemd/module.mk

all: $(BINS) $(TEST_BINS)

deps:
	@sh scripts/deps.sh build
test-deps:
	@sh scripts/deps.sh test

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

data: $(DATA)/test.images
$(DATA)/test.images: scripts/fetch-data.sh weights/prepare_data.py
	@sh scripts/fetch-data.sh $(DATA)

# Retrain from scratch (weights/MODEL_CARD.md: stage 3, one run with elastic
# distortion, a 100-epoch one-cycle schedule, weight averaging and the
# held-out temperature). One thread: the result is the same file for a given
# seed and thread count; about 40 min on this machine. The result is committed.
weights: test-deps data
	/usr/bin/python3 weights/train.py $(DATA) $(WEIGHTS) --stage 3 --threads 1 \
	    | tee weights/train.log

# PORT=N listens on 0.0.0.0:N; MNIST_LISTEN=HOST:PORT in the environment
# chooses the address when PORT is not given (default 0.0.0.0:8000).
run: all
	$(B)/mnist-frontend --spawn-workers 2 $(if $(PORT),--listen 0.0.0.0:$(PORT))

asan:
	$(MAKE) B=$(B)/asan CC=clang OPT=-O1 \
	    SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all

test: test-deps all data asan
	@B=$(B) sh tests/run.sh

fuzzers: $(FUZZERS)

fuzz: test-deps
	$(MAKE) fuzzers
	@B=$(B) FUZZ_SECONDS=$${FUZZ_SECONDS:-600} sh tests/fuzz/fuzz.sh

bench: test-deps all data
	@B=$(B) sh tests/bench/bench.sh

# The attack suite of docs/RELIABILITY.md against a live service on loopback
# (about 5 min); tests/integration/test_attacks.sh runs its quick version.
stress: test-deps all
	@/usr/bin/python3 tests/stress/stress.py --build $(B)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mnist
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(WEIGHTS) weights/model-int8.safetensors $(DESTDIR)$(PREFIX)/share/mnist/

clean:
	rm -rf $(B)
