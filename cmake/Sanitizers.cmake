# The unit-test build runs under AddressSanitizer and UndefinedBehaviorSanitizer
# (scripts/test.sh configures a second build tree with SLUICE_SANITIZE=ON).
if(SLUICE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
