# cmake -DDOT_SOURCE=<program printing a Graphviz graph> -DOUTPUT=<file.svg> -P render_schema.cmake
#
# Graphviz is optional, for the docs only: without `dot` the committed picture
# is kept, and this says so instead of failing the build.
find_program(dot_program dot)
if(NOT dot_program)
    message(NOTICE "Graphviz's dot is not installed (Debian: apt-get install graphviz); "
                   "${OUTPUT} was not regenerated.")
    return()
endif()
execute_process(COMMAND ${DOT_SOURCE} COMMAND ${dot_program} -Tsvg -o ${OUTPUT} RESULTS_VARIABLE rcs)
if(NOT rcs STREQUAL "0;0")
    message(FATAL_ERROR "${DOT_SOURCE} | dot -Tsvg failed (exit statuses ${rcs})")
endif()
message(STATUS "Rendered ${OUTPUT}")
