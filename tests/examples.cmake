# Every example runs as a test and must print exactly its .expected file.
foreach(target ${RELSTORE_EXAMPLE_TARGETS})
    string(REGEX REPLACE "^example_" "" name ${target})
    add_test(NAME ${target}
        COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${target}>
                -DEXPECTED=${PROJECT_SOURCE_DIR}/examples/${name}.expected
                -P ${CMAKE_CURRENT_SOURCE_DIR}/run_example.cmake)
    set_tests_properties(${target} PROPERTIES LABELS "examples")
endforeach()
# README's first example, built from the README (examples/CMakeLists.txt).
if(TARGET example_readme_concepts)
    add_test(NAME example_readme_concepts
        COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:example_readme_concepts>
                -DEXPECTED=${PROJECT_SOURCE_DIR}/examples/01_users_posts.expected
                -P ${CMAKE_CURRENT_SOURCE_DIR}/run_example.cmake)
    set_tests_properties(example_readme_concepts PROPERTIES LABELS "examples")
endif()

# The headers are held to the examples' standard: no warning under the strict
# flags (tests/headers/CMakeLists.txt).
if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/headers/CMakeLists.txt")
    add_subdirectory(headers)
endif()
