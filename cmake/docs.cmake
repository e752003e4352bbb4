# The `docs` target renders the README's picture of the tutorial's schema,
# docs/tutorial-schema.svg, from the same types the schema_dot tests check. The
# SVG is committed, so neither the build nor the tests need Graphviz.
add_executable(relstore_tutorial_schema EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/docs/tutorial_schema.cpp")
target_link_libraries(relstore_tutorial_schema PRIVATE relstore::relstore)
add_custom_target(docs
    COMMAND ${CMAKE_COMMAND} -DDOT_SOURCE=$<TARGET_FILE:relstore_tutorial_schema>
            "-DOUTPUT=${PROJECT_SOURCE_DIR}/docs/tutorial-schema.svg"
            -P "${PROJECT_SOURCE_DIR}/cmake/render_schema.cmake"
    COMMENT "Rendering docs/tutorial-schema.svg"
    VERBATIM)
add_dependencies(docs relstore_tutorial_schema)

if(RELSTORE_BUILD_TESTS)
    # Without Graphviz the target must say so and leave the committed picture alone.
    add_test(NAME docs_without_graphviz
        COMMAND ${CMAKE_COMMAND} -E env PATH=/nonexistent
                ${CMAKE_COMMAND} -DDOT_SOURCE=/nonexistent/program -DOUTPUT=/nonexistent/picture.svg
                -P "${PROJECT_SOURCE_DIR}/cmake/render_schema.cmake")
    set_tests_properties(docs_without_graphviz PROPERTIES LABELS docs
        PASS_REGULAR_EXPRESSION "Graphviz's dot is not installed.*picture.svg was not regenerated"
        FAIL_REGULAR_EXPRESSION "CMake Error")
endif()
