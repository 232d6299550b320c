# test/unit/rules.mk: how a directory of C tests is built: each test_*.c there into $(BUILD)/test_*
# against the pooler's objects (pooler/$(BUILD)/libpooler.a). SAN=1 builds against the ASan+UBSan build
# of the pooler. Included by test/unit/Makefile (the pure modules) and test/component/Makefile (modules
# against the harness's cluster); TEST_INCLUDES adds header directories (tap.h, sock_io.h live here).
PKGS = libevent libevent_openssl libssl libcrypto libpq
SAN ?=
ifeq ($(SAN),1)
CC = clang
BUILD ?= build-asan
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS =
endif
CFLAGS_ALL = -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I../../pooler \
	$(TEST_INCLUDES) $(shell pkg-config --cflags $(PKGS)) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = ../../pooler/$(BUILD)/libpooler.a $(shell pkg-config --libs $(PKGS)) -lm
TESTS = $(patsubst %.c,$(BUILD)/%,$(sort $(wildcard test_*.c)))

.PHONY: all clean prune
all: $(TESTS) prune

# prune: a test binary whose source is gone (renamed, moved) would still be run by the suite
prune: | $(BUILD)
	@for b in $(BUILD)/test_*; do [ ! -e "$$b" ] || [ -f "$${b#$(BUILD)/}.c" ] || rm -f "$$b"; done

../../pooler/$(BUILD)/libpooler.a: FORCE
	$(MAKE) -C ../../pooler SAN=$(SAN) $(BUILD)/libpooler.a

$(BUILD)/%: %.c $(wildcard *.h) $(TEST_HEADERS) ../../pooler/$(BUILD)/libpooler.a | $(BUILD)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDLIBS_ALL)

$(BUILD):
	mkdir -p $@

FORCE:

clean:
	rm -rf build build-asan
