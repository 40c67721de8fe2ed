# cmake -P script: mirror WEB_DIR into WWW_DIR, add CORE_JS and CORE_WASM, and check the
# gzipped size of the .wasm against GZIP_BUDGET (bytes). Fails the build above the budget.
foreach(var WEB_DIR WWW_DIR CORE_JS CORE_WASM GZIP_BUDGET)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "assemble_www.cmake: ${var} is not set")
  endif()
endforeach()

file(MAKE_DIRECTORY ${WWW_DIR})

# Files in www/ that web/ no longer has (besides the core) would still be served: remove them.
file(GLOB_RECURSE served RELATIVE ${WWW_DIR} ${WWW_DIR}/*)
foreach(path IN LISTS served)
  if(path STREQUAL "junction-core.js" OR path STREQUAL "junction-core.wasm")
    continue()
  endif()
  if(NOT EXISTS ${WEB_DIR}/${path})
    file(REMOVE ${WWW_DIR}/${path})
  endif()
endforeach()

if(EXISTS ${WEB_DIR})
  file(COPY ${WEB_DIR}/ DESTINATION ${WWW_DIR})
else()
  message(WARNING "assemble_www.cmake: ${WEB_DIR} does not exist; www/ holds only the core")
endif()
file(COPY ${CORE_JS} ${CORE_WASM} DESTINATION ${WWW_DIR})

find_program(GZIP gzip REQUIRED)
execute_process(
  COMMAND ${GZIP} -9 -c ${CORE_WASM}
  OUTPUT_FILE ${WWW_DIR}/../junction-core.wasm.gz
  RESULT_VARIABLE gzip_result)
if(NOT gzip_result EQUAL 0)
  message(FATAL_ERROR "gzip -9 of ${CORE_WASM} failed: ${gzip_result}")
endif()
file(SIZE ${CORE_WASM} raw_size)
file(SIZE ${WWW_DIR}/../junction-core.wasm.gz gzip_size)
file(REMOVE ${WWW_DIR}/../junction-core.wasm.gz)
message("junction-core.wasm: ${raw_size} bytes, ${gzip_size} bytes gzipped (budget ${GZIP_BUDGET})")
if(gzip_size GREATER GZIP_BUDGET)
  message(FATAL_ERROR "junction-core.wasm is ${gzip_size} bytes gzipped, over the budget of "
                      "${GZIP_BUDGET} bytes")
endif()
