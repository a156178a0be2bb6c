// The one source of ctask_test_pch (tests/CMakeLists.txt): CMake builds a
// target's precompiled header only for a target with a source file.
