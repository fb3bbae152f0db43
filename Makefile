# serverengine: plain GNU make, no configure step.
#
#   make                 library (static + shared), simulator, tool, examples
#   make check           unit tests, simulator seeds, integration tests: "N passed, N failed"
#   make check-valgrind  the same under memcheck
#   make check-faults    libfiu fault sweep (build/fiu variant)
#   make sim SEEDS=N     N simulator seeds of one simulated hour each, in every role:
#                        server, supervisor, thread workers, embedded worker
#   make bench           benchmarks (never part of check)
#   make lint            purity bans, clang-format, cppcheck, clang-tidy
#   make asan            everything with -fsanitize=address,undefined into build/asan
#   make install PREFIX=/usr/local DESTDIR=

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR       ?= $(PREFIX)/share/man

CC      ?= cc
CFLAGS  ?= -O2 -g
B       ?= build
SEEDS   ?= 1000
SEEDS_MAX ?= 100 # make sim at the pool's maximum (1,024 workers): slower per seed

# warnings are errors while developing; a packager's build may say WERROR=
WERROR  ?= -Werror
SE_WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wswitch-enum \
           -Wvla -Wformat=2 -Wno-format-nonliteral $(WERROR)
SE_CPPFLAGS := -std=gnu11 -D_GNU_SOURCE -Iengine/include -Iengine -Ifaults -Isim -Itests
ALL_CFLAGS  = $(SE_CPPFLAGS) $(CPPFLAGS) $(SE_WARN) $(CFLAGS) $(EXTRA_CFLAGS) -fvisibility=hidden \
              -fPIC -MMD -MP
# every link: the packager's LDFLAGS are kept
LINK        = $(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(LDFLAGS)
LDLIBS_CORE := -lyaml -lpthread
# make FIU=1: the fault-injection variant (libfiu consults every fault point)
ifeq ($(FIU),1)
EXTRA_CFLAGS += -DFIU_ENABLE=1
LDLIBS_CORE += -lfiu -ldl
endif
LDLIBS_TEST := -lcmocka

ENGINE_SRC := $(sort $(wildcard engine/*.c))
SIM_SRC    := $(sort $(filter-out sim/sim_main.c,$(wildcard sim/*.c)))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
SIMT_SRC   := $(sort $(wildcard tests/sim/test_*.c))
INTEG_SRC  := $(sort $(wildcard tests/integration/test_*.c))
HOST_SRC   := $(sort $(wildcard tests/hostile/test_*.c))
TSUP_SRC   := $(sort $(wildcard tests/support/*.c))
EX_SRC     := $(sort $(wildcard examples/*.c))
BENCH_SRC  := $(sort $(wildcard bench/bench_*.c))

ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/obj/%.o)
SIM_OBJ    := $(SIM_SRC:%.c=$(B)/obj/%.o)
TSUP_OBJ   := $(TSUP_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
SIMT_BIN   := $(SIMT_SRC:tests/sim/%.c=$(B)/tests/%)
INTEG_BIN  := $(INTEG_SRC:tests/integration/%.c=$(B)/tests/%)
HOST_BIN   := $(HOST_SRC:tests/hostile/%.c=$(B)/tests/%)
EX_BIN     := $(EX_SRC:examples/%.c=$(B)/examples/%)
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
TEST_BIN   := $(UNIT_BIN) $(SIMT_BIN) $(INTEG_BIN) $(HOST_BIN)

LIB_A  := $(B)/libserverengine.a
LIB_SO := $(B)/libserverengine.so.$(VERSION)
TOOL   := $(B)/serverengine
SIM    := $(B)/se-sim
# the project's reference: man pages written with scdoc (doc/NAME.SECTION.scd)
MAN_SRC := $(sort $(wildcard doc/*.scd))
MAN     := $(MAN_SRC:doc/%.scd=$(B)/man/%)

.PHONY: uninstall fuzz-config fuzz-sockmgr fuzz-cmdpipe demo-sim all check check-valgrind check-faults check-mutants sim bench lint asan install clean tests demo

all: $(LIB_A) $(LIB_SO) $(SIM) $(TOOL) $(EX_BIN) $(B)/serverengine.pc $(MAN)

tests: $(TEST_BIN) $(SIM) $(TOOL) $(B)/tests/test_install.sh $(B)/tests/test_systemd.sh \
       $(B)/tests/test_ruby_parity.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB_A): $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(ENGINE_OBJ)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libserverengine.so.$(SOVERSION) -o $@ $^ $(LDLIBS_CORE)
	ln -sf libserverengine.so.$(VERSION) $(B)/libserverengine.so.$(SOVERSION)
	ln -sf libserverengine.so.$(SOVERSION) $(B)/libserverengine.so

$(SIM): $(B)/obj/sim/sim_main.o $(SIM_OBJ) $(LIB_A)
	$(LINK) -o $@ $^ $(LDLIBS_CORE)

$(UNIT_BIN): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(TSUP_OBJ) $(SIM_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS_TEST) $(LDLIBS_CORE)

$(SIMT_BIN): $(B)/tests/%: $(B)/obj/tests/sim/%.o $(TSUP_OBJ) $(SIM_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS_TEST) $(LDLIBS_CORE)

$(INTEG_BIN): $(B)/tests/%: $(B)/obj/tests/integration/%.o $(TSUP_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS_TEST) $(LDLIBS_CORE)

# the sigdump test finds run's frame by name: its symbols exported
$(B)/tests/test_sigdump: LDFLAGS += -rdynamic

# tests/hostile: what a careless or hostile local user can do to the paths and
# processes the engine touches (real processes, as root and as another user)
$(HOST_BIN): $(B)/tests/%: $(B)/obj/tests/hostile/%.o $(TSUP_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS_TEST) $(LDLIBS_CORE)

# the command-line tool: tools/serverengine.c
$(TOOL): $(B)/obj/tools/serverengine.o $(LIB_A)
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -o $@ $^ $(LDLIBS_CORE)

$(EX_BIN): $(B)/examples/%: $(B)/obj/examples/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS_CORE)

$(BENCH_BIN): $(B)/bench/%: $(B)/obj/bench/%.o $(SIM_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS_CORE)

$(B)/man/%: doc/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@

# the .pc names the prefix it is installed under, so it is written at install
# time; $(B)/serverengine.pc is the same for the default prefix
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
$(B)/serverengine.pc: engine/serverengine.pc.in Makefile
	@mkdir -p $(dir $@)
	$(PC_SED) $< > $@

# tests/install: install into two DESTDIRs and build the README's sample with
# pkg-config alone (a script: run.sh runs it outside valgrind)
$(B)/tests/test_install.sh: tests/install/test_install.sh
	@mkdir -p $(dir $@)
	sed -e 's|@SRCDIR@|$(CURDIR)|g' -e 's|@B@|$(B)|g' $< > $@
	chmod 755 $@

# tests/systemd: the example units of contrib/systemd, checked against the
# engine's values, by systemd-analyze verify where installed, and run the way
# systemd runs them (a script, like the install test)
$(B)/tests/test_systemd.sh: tests/systemd/test_systemd.sh
	@mkdir -p $(dir $@)
	sed -e 's|@SRCDIR@|$(CURDIR)|g' -e 's|@B@|$(B)|g' $< > $@
	chmod 755 $@

# tests/parity: the README's differences from Ruby ServerEngine that no other
# test pins down, through the tool (a script)
$(B)/tests/test_ruby_parity.sh: tests/parity/test_ruby_parity.sh
	@mkdir -p $(dir $@)
	sed -e 's|@SRCDIR@|$(CURDIR)|g' -e 's|@B@|$(B)|g' $< > $@
	chmod 755 $@

check: all tests
	tests/run.sh $(B)

check-valgrind: all tests
	SE_VALGRIND=1 tests/run.sh $(B)

# Mutation run over engine/sm_*.c and engine/driver*.c (tests/mutants/mutate.py):
# MUTANTS=N SEED=S for a seeded sample, the full run otherwise.
check-mutants:
	nice -n 10 python3 tests/mutants/mutate.py

check-faults:
	$(MAKE) B=build/fiu FIU=1 build/fiu/se-fault-sweep
	build/fiu/se-fault-sweep
	$(MAKE) fuzz-config FUZZ_SECONDS=30
	$(MAKE) fuzz-sockmgr FUZZ_SECONDS=30
	$(MAKE) fuzz-cmdpipe FUZZ_SECONDS=30

# The config parser under libFuzzer (clang): YAML text and KEY=VALUE strings.
FUZZ_SECONDS ?= 30
# only the parsers and what they need: no file system, no logger (config_file.c reads files)
FUZZ_CONFIG_SRC := engine/config.c engine/config_parse.c engine/config_user.c \
                   engine/config_text.c engine/config_yaml.c engine/common.c engine/faults.c
fuzz-config:
	@mkdir -p build/fuzz/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    $(SE_CPPFLAGS) $(SE_WARN) tests/fuzz/fuzz_config.c $(FUZZ_CONFIG_SRC) -lyaml \
	    -o build/fuzz/fuzz_config
	build/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus tests/fuzz/corpus_config

# The SocketManager's request parser under libFuzzer (clang).
fuzz-sockmgr:
	@mkdir -p build/fuzz/corpus_sockmgr
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    $(SE_CPPFLAGS) $(SE_WARN) tests/fuzz/fuzz_sockmgr.c engine/sockmgr_proto.c \
	    engine/common.c engine/faults.c -o build/fuzz/fuzz_sockmgr
	build/fuzz/fuzz_sockmgr -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus_sockmgr \
	    tests/fuzz/corpus_sockmgr

# The command pipe's line reader under libFuzzer: any bytes, any split into reads.
fuzz-cmdpipe:
	@mkdir -p build/fuzz/corpus_cmdpipe
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    $(SE_CPPFLAGS) $(SE_WARN) tests/fuzz/fuzz_cmdpipe.c engine/cmdpipe.c engine/common.c \
	    engine/faults.c -o build/fuzz/fuzz_cmdpipe
	build/fuzz/fuzz_cmdpipe -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus_cmdpipe \
	    tests/fuzz/corpus_cmdpipe

$(B)/se-fault-sweep: $(B)/obj/faults/sweep.o $(LIB_A)
	$(LINK) -o $@ $^ $(LDLIBS_CORE)

demo: all
	examples/demo.sh $(B)

demo-sim: all
	$(SIM) --seed 7 --duration 3600 --workers 4 --verbose 2>&1 | grep -E ' (log|operator|liveness|converged|VIOLATION|fault)' | cut -c1-150
	$(SIM) --seed 7 --duration 3600 --workers 4

sim: $(SIM)
	$(SIM) --seeds 1-$(SEEDS) --duration 3600 --workers 4
	$(SIM) --seeds 1-$(SEEDS) --duration 3600 --supervisor
	$(SIM) --seeds 1-$(SEEDS) --duration 3600 --workers 4 --set worker_type=thread
	$(SIM) --seeds 1-$(SEEDS) --duration 3600 --set worker_type=embedded
	$(SIM) --seeds 1-$(SEEDS_MAX) --duration 3600 --workers 1024

bench: $(BENCH_BIN) $(SIM)
	bench/run.sh $(B)

lint:
	tests/lint.sh

asan:
	$(MAKE) B=build/asan EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" check

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libserverengine.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libserverengine.so.$(SOVERSION)
	ln -sf libserverengine.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libserverengine.so
	install -m 644 engine/include/serverengine.h $(DESTDIR)$(INCLUDEDIR)/
	$(PC_SED) engine/serverengine.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/serverengine.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/serverengine.pc
	install -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/
	for m in $(MAN); do sec=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$sec; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$sec/; done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libserverengine.a $(DESTDIR)$(LIBDIR)/libserverengine.so \
	    $(DESTDIR)$(LIBDIR)/libserverengine.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libserverengine.so.$(VERSION) \
	    $(DESTDIR)$(INCLUDEDIR)/serverengine.h $(DESTDIR)$(PKGCONFIGDIR)/serverengine.pc \
	    $(DESTDIR)$(BINDIR)/serverengine
	for m in $(MAN); do sec=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$sec/$${m##*/}; done

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
