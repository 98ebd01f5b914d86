# CLI tests of pocket-inspect (issue #6) on the tiny models pocket_tools_test_data writes, and on
# the MobileNetV3-Small and DistilBERT fixtures (converted from their build-time ONNX export when
# the model tests have not written the .pocket yet; skipped without a fixture). Included from
# tests/tools/CMakeLists.txt (uses its tools_cli(), D and EXPECT).
if(NOT TARGET pocket-inspect)
  return()
endif()
set(INSPECT $<TARGET_FILE:pocket-inspect>)

# The report's sections, on a model with every kind of metadata.
tools_cli(inspect_help ok "usage: pocket-inspect MODEL.pocket" ${INSPECT} --help)
tools_cli(inspect_file ok "^file +[0-9.]+ (B|KiB) \\([0-9,]+ bytes\\), format 1\\.[0-9]+$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_producer ok "^producer +pocket_tools_test_data 1\\.0$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_labels ok "^labels +7: zero, one, two, three, four, \\.\\.\\.$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_tokenizer ok "^tokenizer +wordpiece: 7 tokens, lower-cased, accents stripped, max_length 16, special pad=\\[PAD\\]"
          ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_audio ok "^audio +whisper_log_mel: 16000 Hz, n_fft 400, hop 160, 80 mel bins, 30 s window$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_property_one_line ok "^property +note = two\\?lines$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_symbolic_input ok "^  x +float32 +\\[batch,3\\]  \\(prepared as \\[1,3\\]\\)$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_input_shape ok "^  y +float32 +\\[batch,4\\]  \\(prepared as \\[8,4\\]\\)$" ${INSPECT} ${D}/inspect.pocket --input-shape x=8x3)
tools_cli(inspect_ops ok "^ops: 5 nodes, 3 op types. 4 run, 1 evaluated at prepare. 72 FLOP per run \\(1 thread\\)$"
          ${INSPECT} ${D}/inspect.pocket --input-shape x=2x3)
tools_cli(inspect_op_row ok "^  MatMul +1 +1 +0 +12 +48 B +0\\.000 +66\\.7%$" ${INSPECT} ${D}/inspect.pocket --input-shape x=2x3)
tools_cli(inspect_at_prepare ok "evaluated once at prepare \\(not run, no FLOPs per run\\): Add 'fold \"k\"'" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_params ok "^parameters: 28 elements in 5 constants, 92 B$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_params_dtype ok "^  float16 +4 elements +8 B +1 tensors$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_quant ok "^quantization: 1 int8 constants, 1 fp16 constants, 1 per-axis quantization parameters$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_quant_none ok "^quantization: none" ${INSPECT} ${D}/add.pocket)
tools_cli(inspect_arena ok "^  arena +[0-9.]+ K?i?B +[0-9,]+ B  \\(activations and scratch\\)$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_lower_bound ok "^  liveness lower bound .*\\(arena / lower bound = [0-9]+\\.[0-9]{3}\\)$" ${INSPECT} ${D}/inspect.pocket)
tools_cli(inspect_memory_total ok "^  total .*\\(this session\\)$" ${INSPECT} ${D}/inspect.pocket --threads 2)
tools_cli(inspect_no_task ok "^task +-$" ${INSPECT} ${D}/rgb_nometa.pocket)
tools_cli(inspect_json ok "^\\{\"model\":.*\"format\":\"1\\.[0-9]+\".*\"tokenizer\":\\{\"kind\":\"wordpiece\",\"vocab_size\":7.*\"inputs\":\\[\\{\"name\":\"x\",\"dtype\":\"float32\",\"shape\":\\[-1,3\\],\"dims\":\\[\"batch\",\"3\"\\],\"prepared_shape\":\\[4,3\\]\\}\\].*\"evaluated_at_prepare\":\\[\"Add fold \\\\\"k\\\\\"\"\\].*\"memory\":\\{\"arena\":[0-9]+,\"arena_lower_bound\":[0-9]+.*\\}$"
          ${INSPECT} ${D}/inspect.pocket --json --input-shape x=4x3)
tools_cli(inspect_dot_stdout ok "^digraph pocket \\{$" ${INSPECT} ${D}/inspect.pocket --dot -)

# --dot: structure (and dot -Tsvg when graphviz is installed).
add_test(NAME tools.inspect_dot_write COMMAND ${INSPECT} ${D}/inspect.pocket --dot ${D}/inspect.dot --input-shape x=2x3)
set_tests_properties(tools.inspect_dot_write PROPERTIES FIXTURES_REQUIRED tools_data FIXTURES_SETUP inspect_dot TIMEOUT 60)
add_test(NAME tools.inspect_dot_check
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_dot.sh ${D}/inspect.dot 5
                 "in0 \\[shape=invhouse.*label=\"x\\\\nfloat32 \\[batch,3\\]\"" "out0 \\[shape=house"
                 "label=\"MatMul\\\\nproj\\\\nfloat32 \\[3,4\\]\"" "label=\"Add\\\\nfold \\\\\"k\\\\\"\\\\nfloat32 \\[4\\]\\\\nfloat32 \\[4\\]\""
                 "rounded,filled,dashed" "in0 -> n0 \\[label=\"\\[2,3\\]\"\\]" "n0 -> n1 \\[label=\"\\[2,4\\]\"\\]")
set_tests_properties(tools.inspect_dot_check PROPERTIES FIXTURES_REQUIRED "tools_data;inspect_dot" TIMEOUT 60)

# Errors: one line on stderr, non-zero exit.
tools_cli(inspect_no_args fail "pocket-inspect: error: missing MODEL.pocket" ${INSPECT})
tools_cli(inspect_bad_flag fail "unknown option '--frobnicate'" ${INSPECT} ${D}/inspect.pocket --frobnicate)
tools_cli(inspect_bad_threads fail "bad value for --threads: 'many' is not an integer" ${INSPECT} ${D}/inspect.pocket --threads many)
tools_cli(inspect_threads_range fail "bad value for --threads: '0' is out of range" ${INSPECT} ${D}/inspect.pocket --threads 0)
tools_cli(inspect_dot_without_value fail "option --dot needs a value" ${INSPECT} ${D}/inspect.pocket --dot)
tools_cli(inspect_dot_empty fail "--dot needs a file name or '-'" ${INSPECT} ${D}/inspect.pocket --dot=)
tools_cli(inspect_dot_unwritable fail "--dot: cannot write '.*no/such/dir/g.dot'" ${INSPECT} ${D}/inspect.pocket --dot ${D}/no/such/dir/g.dot)
tools_cli(inspect_bad_input_shape fail "--input-shape 'x=2xb': dimension 'b' is not a size" ${INSPECT} ${D}/inspect.pocket --input-shape x=2xb)
tools_cli(inspect_input_shape_twice fail "input 'x' is given twice" ${INSPECT} ${D}/inspect.pocket --input-shape x=2x3 --input-shape x=4x3)
tools_cli(inspect_unknown_input fail "cannot prepare a session for .*model has no input 'z' \\(inputs: 'x'" ${INSPECT} ${D}/inspect.pocket --input-shape z=2x3)
tools_cli(inspect_wrong_rank fail "cannot prepare a session for .*input 'x' has rank 2, cannot take shape" ${INSPECT} ${D}/inspect.pocket --input-shape x=2x3x4)
tools_cli(inspect_unpreparable fail "cannot prepare a session for '.*unpreparable.pocket': .*Softmax" ${INSPECT} ${D}/unpreparable.pocket)
tools_cli(inspect_unpreparable_report ok "memory plan: no session \\(.*Softmax" /bin/sh -c "${INSPECT} ${D}/unpreparable.pocket || test $? -eq 1")
tools_cli(inspect_missing_model fail "cannot load model: .*no_such.pocket" ${INSPECT} ${D}/no_such.pocket)
tools_cli(inspect_garbage_model fail "cannot load model" ${INSPECT} ${D}/garbage.pocket)
tools_cli(inspect_truncated_model fail "cannot load model" ${INSPECT} ${D}/truncated.pocket)
tools_cli(inspect_empty_model fail "cannot load model" ${INSPECT} ${D}/empty.pocket)
tools_cli(inspect_npy_as_model fail "cannot load model" ${INSPECT} ${D}/x.npy)
tools_cli(inspect_directory_as_model fail "cannot load model" ${INSPECT} ${D})

# The fixtures (written by the model tests; converted from the build-time ONNX export when the
# model tests have not run yet; skipped when neither exists).
set(INSPECT_FIXTURE ${CMAKE_CURRENT_LIST_DIR}/inspect_fixture.sh)
if(TARGET pocket-convert)
  set(INSPECT_CONVERT $<TARGET_FILE:pocket-convert>)
else()
  set(INSPECT_CONVERT /nonexistent/pocket-convert)  # no converter in this build: a missing .pocket skips
endif()
add_test(NAME tools.inspect_mobilenet_v3_small
         COMMAND ${INSPECT_FIXTURE} ${INSPECT} ${CMAKE_BINARY_DIR}/fixtures/mobilenet_v3_small.pocket
                 ${INSPECT_CONVERT} ${POCKET_FIXTURE_BASE}/fixtures/mobilenet_v3_small.onnx
                 "^file +[0-9.]+ MiB" "^  input +float32 +\\[1,3,224,224\\]" "^ops: [0-9]+ nodes, .* [0-9.]+ MFLOP per run"
                 "^  Conv +[0-9]+ +[0-9]+ +0 +[0-9,]+ +[0-9.]+ [KM]iB" "^parameters: 2,5[0-9][0-9],[0-9]{3} elements"
                 "^  liveness lower bound .*arena / lower bound = [0-9.]+")
add_test(NAME tools.inspect_distilbert
         COMMAND ${INSPECT_FIXTURE} ${INSPECT} ${CMAKE_BINARY_DIR}/fixtures4/distilbert/model.pocket
                 ${INSPECT_CONVERT} ${POCKET_FIXTURE_BASE}/fixtures4/distilbert/model.onnx --input-shape input_ids=1x128 --
                 "^  input_ids +int64 +\\[batch,seq\\]  \\(prepared as \\[1,128\\]\\)$"
                 "^  attention_mask +int64 +\\[batch,seq\\]  \\(prepared as \\[1,128\\]\\)$"
                 "^ops: [0-9]+ nodes, .* [0-9]+ evaluated at prepare. [0-9.]+ GFLOP per run" "^  MatMul +[0-9]+ +[0-9]+ +0 "
                 "^parameters: 66,9[0-9]{2},[0-9]{3} elements")
set_tests_properties(tools.inspect_mobilenet_v3_small tools.inspect_distilbert PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
