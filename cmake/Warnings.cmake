# Every sluice target compiles warning-free; third-party headers are included as SYSTEM.
add_library(sluice_warnings INTERFACE)
target_compile_options(sluice_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)
