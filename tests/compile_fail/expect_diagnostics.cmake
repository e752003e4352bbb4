# Compiles one source that holds several misuses and checks that the compiler
# reported each of them: the source marks each with a comment line
# `// expect: REGEX`, and every REGEX must match the compiler's output (which
# must be a failure).
#   cmake -DCOMPILER=... -DFLAGS=a;b -DSOURCE=... -P expect_diagnostics.cmake
execute_process(COMMAND ${COMPILER} ${FLAGS} ${SOURCE}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(out "${out}${err}")
if(status EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but every case in it is a misuse that must not compile")
endif()
file(STRINGS ${SOURCE} lines REGEX "// expect: ")
set(missing "")
set(count 0)
foreach(line IN LISTS lines)
    string(REGEX REPLACE "^.*// expect: " "" re "${line}")
    math(EXPR count "${count} + 1")
    if(NOT out MATCHES "${re}")
        string(APPEND missing "\n  ${re}")
    endif()
endforeach()
if(count EQUAL 0)
    message(FATAL_ERROR "${SOURCE} has no `// expect:` lines")
endif()
if(missing)
    message(FATAL_ERROR "the compiler did not report:${missing}\nits output:\n${out}")
endif()
message(STATUS "all ${count} expected diagnostics were reported")
