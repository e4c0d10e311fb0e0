# edgetrack: the one entry point.
#
#   make <board>_defconfig   write .config from board/<board>/defconfig
#   make menuconfig          edit .config
#   make                     build what .config selects into $(O) (build/)
#   make run                 install what is missing, build, run edgetrackd on its defaults
#   make check               install what is missing, build with ASan+UBSan, run every test
#   make bench               side-by-side benchmarks against the named peers
#
# Non-recursive: every folder's Kbuild adds to obj-y (library objects), bin-y (programs),
# bpf-y (BPF objects), unit-y (cmocka tests) and fuzz-y (libFuzzer targets); an entry
# ending in '/' descends into that folder. Build outputs go to $(O), never to the source tree.

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
.DELETE_ON_ERROR:

srctree   := $(CURDIR)
O         ?= build
BOARD     ?= host
KCONFIG_CONFIG ?= .config
export KCONFIG_CONFIG srctree
# Debian's interpreter: python3-kconfiglib lives in its dist-packages.
KPYTHON   := /usr/bin/python3

ifeq ($(origin CC),default)
CC        := gcc
endif
CLANG     ?= clang
BPFTOOL   ?= bpftool
AR        := ar
Q         := $(if $(V),,@)

config-only := $(filter %_defconfig menuconfig oldconfig olddefconfig savedefconfig deps clean distclean help,$(MAKECMDGOALS))
ifeq ($(config-only),$(MAKECMDGOALS))
  ifneq ($(MAKECMDGOALS),)
    skip-config := 1
  endif
endif

# Goals that first install what is missing. Make reads .config, and would run kconfiglib to
# write it, before any goal runs: on a fresh machine that happens before the packages are
# there, and make remembers the failure. So these goals run scripts/install-deps.sh and then
# make again for the real work, with SKIP_DEPS=1 (which a caller may also set to skip the
# package check).
deps-goals := run check bench soak image qemu-run qemu-images qemu-test
ifeq ($(SKIP_DEPS),)
  deps-first := $(if $(filter $(deps-goals),$(MAKECMDGOALS)),1)
endif

ifdef deps-first
.PHONY: $(MAKECMDGOALS) deps-then-make
$(MAKECMDGOALS): deps-then-make
	@:
deps-then-make:
	$(Q)scripts/install-deps.sh
	$(Q)$(MAKE) --no-print-directory SKIP_DEPS=1 $(MAKECMDGOALS)
else # the rest of this file, read when the packages are there

ifndef skip-config
-include $(KCONFIG_CONFIG)
endif

# ---------------------------------------------------------------- Kbuild lists
all-obj  :=
all-bin  :=
all-bpf  :=
all-unit :=
all-fuzz :=

define kbuild-read
obj-y :=
bin-y :=
bpf-y :=
unit-y :=
fuzz-y :=
include $(srctree)/$(1)Kbuild
kb-sub-$(1) := $$(sort $$(filter %/,$$(obj-y) $$(bin-y) $$(bpf-y) $$(unit-y) $$(fuzz-y)))
all-obj  += $$(addprefix $(1),$$(filter-out %/,$$(obj-y)))
all-bin  += $$(addprefix $(1),$$(filter-out %/,$$(bin-y)))
all-bpf  += $$(addprefix $(1),$$(filter-out %/,$$(bpf-y)))
all-unit += $$(addprefix $(1),$$(filter-out %/,$$(unit-y)))
all-fuzz += $$(addprefix $(1),$$(filter-out %/,$$(fuzz-y)))
$$(foreach s,$$(kb-sub-$(1)),$$(eval $$(call kbuild-read,$(1)$$(s))))
endef
$(eval $(call kbuild-read,))
$(eval $(call kbuild-read,tests/))

lib-objs  := $(addprefix $(O)/,$(all-obj))
bin-objs  := $(addprefix $(O)/,$(addsuffix .o,$(all-bin)))
programs  := $(addprefix $(O)/,$(notdir $(all-bin)))
bpf-objs  := $(addprefix $(O)/,$(all-bpf))
bpf-skels := $(patsubst %.bpf.o,%.skel.h,$(bpf-objs))
unit-bins := $(addprefix $(O)/,$(all-unit))
fuzz-bins := $(addprefix $(O)/,$(all-fuzz))
libedgetrack := $(O)/libedgetrack.a
autoconf  := $(O)/include/generated/autoconf.h

# ---------------------------------------------------------------- flags
CSTD      := -std=c11 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter -Wformat=2 -Wvla
OPT       ?= -O2
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -g -fno-strict-aliasing -MMD -MP \
             -I$(srctree)/userspace -I$(srctree) -I$(O) -include $(autoconf) $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(EXTRA_LDFLAGS)
LDLIBS    := -luring -ljansson -lssl -lcrypto -lpthread -lsodium
# Operator-only libraries (ACME client, DNS checks, the domain doctor): edgetrackctl, the
# tests and the bench helpers link them; edgetrackd does not, so the appliance daemon never
# loads them.
OPERATOR_LDLIBS := -lcurl -lcares -lpsl

ifeq ($(CONFIG_TLS_MBEDTLS),y)
LDLIBS    += -lmbedtls -lmbedx509 -lmbedcrypto
endif
ifeq ($(CONFIG_XDP),y)
LDLIBS    += -lbpf -lelf -lz
endif
ifeq ($(CONFIG_FLEET),y)
LDLIBS    += -lnats -llz4
endif

ifeq ($(SANITIZE),1)
OPT       := -O1
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS_ALL += $(SANFLAGS)
LDFLAGS_ALL += $(SANFLAGS)
endif
ifeq ($(FUZZ),1)
CC        := $(CLANG)
OPT       := -O1
CFLAGS_ALL += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -DFUZZING
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
endif

# ---------------------------------------------------------------- goals
.PHONY: all tests fuzzers run check bench soak clean distclean deps help \
        menuconfig oldconfig olddefconfig savedefconfig
.DEFAULT_GOAL := all

all: $(programs)

tests: $(unit-bins)

fuzzers: $(fuzz-bins)

help:
	@sed -n '3,10p' Makefile

deps:
	$(Q)scripts/install-deps.sh

# The demo keeps its state (journal, certs, control socket) in $(O)/edgetrack-data.
run: all
	cd $(O) && ./edgetrackd

# make check: ASan+UBSan builds (OpenSSL and mbedTLS backends), unit and integration tests,
# 20 s per fuzz target, a warnings-as-errors clang build of the programs and the tests, and
# both boards' firmware images booted and tested under QEMU. Scale, fallback and fuzz runs
# are smaller here than in make soak.
# Its builds use every CPU (JOBS) unless make was given -j.
JOBS ?= $(shell nproc)
check-j := $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))
check:
	$(Q)$(MAKE) $(check-j) --no-print-directory O=build/check SANITIZE=1 all tests
	$(Q)$(MAKE) --no-print-directory O=build/check-mbedtls KCONFIG_CONFIG=build/check-mbedtls/.config host_mbedtls_defconfig
	$(Q)$(MAKE) $(check-j) --no-print-directory O=build/check-mbedtls KCONFIG_CONFIG=build/check-mbedtls/.config SANITIZE=1 all tests
	$(Q)$(MAKE) $(check-j) --no-print-directory O=build/clang CC=clang all tests
	$(Q)$(MAKE) $(check-j) --no-print-directory O=build/fuzz FUZZ=1 fuzzers
	$(Q)$(MAKE) $(check-j) --no-print-directory qemu-images
	$(Q)ET_CERT_SCALE=5000 SCALE_DOMAINS=3000 QEMU_TEST_TRIES=1 QEMU_TEST_HEALTH_TIMEOUT=20 \
		FUZZ_SECONDS=$${FUZZ_SECONDS:-20} QEMU_BOARDS="$(FW_BOARDS)" tests/run.sh build/check build/fuzz

bench: all
	$(Q)bench/run.sh $(O)

# make soak: the benchmarks with long runs, then the fleet's exactly-once test with more load,
# longer phases and a longer NATS outage than make check gives it, then 10 min per fuzz target.
soak: all $(O)/tests/journal/loadgen
	$(Q)SOAK=1 bench/run.sh $(O)
	$(Q)FLEET_SOAK=1 FUZZ_SECONDS=0 TESTS=integration/test_fleet_events tests/run.sh $(O)
	$(Q)$(MAKE) --no-print-directory O=build/fuzz FUZZ=1 fuzzers
	$(Q)FUZZ_SECONDS=600 TESTS=fuzz/ tests/run.sh $(O) build/fuzz

clean:
	rm -rf build

distclean: clean
	rm -f $(KCONFIG_CONFIG) $(KCONFIG_CONFIG).old

# ---------------------------------------------------------------- configuration
%_defconfig:
	$(Q)test -f board/$*/defconfig || { echo "no board '$*' (see board/)" >&2; exit 1; }
	$(Q)mkdir -p $(dir $(KCONFIG_CONFIG))
	$(Q)$(KPYTHON) -m defconfig --kconfig Kconfig board/$*/defconfig

menuconfig oldconfig olddefconfig savedefconfig:
	$(Q)$(KPYTHON) -m $@ Kconfig

# A missing .config means the default board; one older than the menus takes the defaults of
# the options added since (olddefconfig), so the Kbuild lists and autoconf.h agree.
kconfig-files := $(shell find $(srctree) -name Kconfig -not -path '$(srctree)/build/*')

$(KCONFIG_CONFIG): $(kconfig-files)
	$(Q)if [ -f $@ ]; then $(KPYTHON) -m olddefconfig Kconfig >/dev/null && touch $@; \
	else $(KPYTHON) -m defconfig --kconfig Kconfig board/$(BOARD)/defconfig; fi

$(autoconf): $(KCONFIG_CONFIG) $(kconfig-files)
	$(Q)mkdir -p $(@D)
	$(Q)$(KPYTHON) -m genconfig --header-path $@ Kconfig

# ---------------------------------------------------------------- C
$(O)/%.o: %.c $(autoconf) | $(bpf-skels)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(libedgetrack): $(lib-objs)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(O)/%: $(O)/userspace/cmd/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS) $(BIN_LDLIBS)

$(O)/edgetrackctl: BIN_LDLIBS := $(OPERATOR_LDLIBS)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS) $(OPERATOR_LDLIBS) -lcmocka

$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(FUZZ_LDFLAGS) -o $@ $^ $(LDLIBS) $(OPERATOR_LDLIBS)

# Helper programs of the XDP integration test and bench (one <name>.c each).
xdp-helpers := $(if $(filter y,$(CONFIG_XDP)),$(addprefix $(O)/,tests/xdp/synflood bench/xdp_bench))
tests: $(xdp-helpers)

$(O)/tests/xdp/%: $(O)/tests/xdp/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

# Load generator of the journal crash test.
tests: $(O)/tests/journal/loadgen

$(O)/tests/journal/%: $(O)/tests/journal/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

# Cert minter of the TLS tests (thousands of leaf certs from one CA and one key).
tests: $(O)/tests/tls/mintcerts

$(O)/tests/tls/%: $(O)/tests/tls/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

$(O)/bench/%: $(O)/bench/%.o $(libedgetrack)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

# ---------------------------------------------------------------- BPF
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
              -I$(srctree) -I$(O)/bpf -I/usr/include/$(shell uname -m)-linux-gnu

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	@echo "  BPF     $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$(basename $(basename $(notdir $<)))) > $@

.SECONDARY:
-include $(shell find $(O) -name '*.d' -type f -not -path '*/rootfs/*' 2>/dev/null)

# ---------------------------------------------------------------- firmware images
# Boards other than host build into build/<board>/ with their own config
# (build/<board>/.config from board/<board>/defconfig), so the host's .config is untouched.
#   make image     [BOARD=qemu_x86_64|qemu_aarch64]   root slot (kernel, initramfs, rootfs),
#                                                     disk (UEFI + GRUB, slots A/B, data), RAUC bundle;
#                  [ET_SIGNING_KEY= ET_SIGNING_CERT= [ET_SIGNING_KEYRING=]]  the bundle's signer
#   make qemu-run  [BOARD=...]                        boot it; 127.0.0.1:8080/8443/8444 -> 80/443/8444
#   ET_BUNDLE_ROOT_PUB=, ET_OPERATOR_CA=   the cert/config bundles' root public key and the
#                  operator CA an image trusts (see images/build.sh; without them development
#                  ones are made once in build/keys/)
#   make qemu-test [FW_BOARDS="qemu_x86_64 qemu_aarch64"]
FW_BOARD  := $(if $(filter host,$(BOARD)),qemu_x86_64,$(BOARD))
FW_BOARDS ?= qemu_x86_64 qemu_aarch64
fw-cross   = $(if $(filter qemu_aarch64,$(1)),CC=aarch64-linux-gnu-gcc)

.PHONY: image qemu-run qemu-images qemu-test fw-userspace-%

fw-userspace-%:
	$(Q)mkdir -p build/$*
	$(Q)$(MAKE) --no-print-directory O=build/$* KCONFIG_CONFIG=build/$*/.config $*_defconfig
	$(Q)$(MAKE) --no-print-directory O=build/$* KCONFIG_CONFIG=build/$*/.config $(call fw-cross,$*) all

image: fw-userspace-$(FW_BOARD)
	$(Q)images/build.sh $(FW_BOARD)

qemu-run: image
	$(Q)QEMU_APPEND=et.debug_shell=1 scripts/qemu-launch.sh $(FW_BOARD) build/$(FW_BOARD)/images/disk.img

qemu-images:
	$(Q)for b in $(FW_BOARDS); do \
		$(MAKE) --no-print-directory fw-userspace-$$b && images/build.sh $$b || exit 1; \
	done

qemu-test: all qemu-images
	$(Q)tests/qemu/run.sh $(FW_BOARDS)

endif # deps-first
