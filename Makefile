# sam build runs `make build-<FunctionLogicalId>` here for every function (BuildMethod: makefile), with
# ARTIFACTS_DIR set to that function's package directory. Every function is the same app: one Native AOT
# publish (scripts/publish-native, which also checks the glibc it needs) whose executable becomes the
# package's bootstrap, the file an OS-only Lambda runtime starts.
NATIVE_DIR ?= $(CURDIR)/.aws-sam/native

build-%: $(NATIVE_DIR)/OrderProcessing.Functions
	cp $(NATIVE_DIR)/OrderProcessing.Functions $(ARTIFACTS_DIR)/bootstrap

$(NATIVE_DIR)/OrderProcessing.Functions:
	scripts/publish-native $(NATIVE_DIR)

.PHONY: $(NATIVE_DIR)/OrderProcessing.Functions
