# sam build runs `make build-<FunctionLogicalId>` here for every function (BuildMethod: makefile), with
# ARTIFACTS_DIR set to that function's package directory. Every function is the same app: one Native AOT
# publish (scripts/publish-native, which also checks the glibc it needs) whose executable becomes the
# package's bootstrap, the file an OS-only Lambda runtime starts. sam calls make once per function, so the
# binary is a real target: published by the first call, and again only when a source of the app is newer.
NATIVE_DIR ?= $(CURDIR)/.aws-sam/native
SOURCES := $(shell find src/Functions -type f -not -path '*/bin/*' -not -path '*/obj/*') \
	Directory.Build.props Directory.Packages.props global.json scripts/publish-native

build-%: $(NATIVE_DIR)/OrderProcessing.Functions
	cp $(NATIVE_DIR)/OrderProcessing.Functions $(ARTIFACTS_DIR)/bootstrap

$(NATIVE_DIR)/OrderProcessing.Functions: $(SOURCES)
	scripts/publish-native $(NATIVE_DIR)
