# CLI tests of pocket-convert's quantization flags (issue #5) on a tiny CNN written at test time
# with onnx.helper (/usr/bin/python3 + onnx + numpy), with .npy calibration sets next to it.
# Included from tests/tools/CMakeLists.txt (uses its EXPECT and RUN).
if(NOT TARGET pocket-convert OR NOT EXISTS /usr/bin/python3)
  return()
endif()
set(QD ${CMAKE_CURRENT_BINARY_DIR}/quant)
set(CONVERT $<TARGET_FILE:pocket-convert>)

# x [1,3,16,16] -> Conv3x3 (8) -> Relu -> Conv1x1 (8) -> Add -> GlobalAveragePool -> Flatten -> Gemm (4) -> y
file(WRITE ${QD}/make_quant_cli_model.py [=[
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1]
rng = np.random.default_rng(5)
def t(name, shape, s):
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)
inits = [t('w1', (8, 3, 3, 3), 0.3), t('b1', (8,), 0.1), t('w2', (8, 8, 1, 1), 0.3), t('b2', (8,), 0.1),
         t('fc_w', (4, 8), 0.3), t('fc_b', (4,), 0.1)]
nodes = [
    helper.make_node('Conv', ['x', 'w1', 'b1'], ['c1'], name='conv1', pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    helper.make_node('Relu', ['c1'], ['r1'], name='relu1'),
    helper.make_node('Conv', ['r1', 'w2', 'b2'], ['c2'], name='conv2', kernel_shape=[1, 1]),
    helper.make_node('Add', ['c2', 'r1'], ['s'], name='add'),
    helper.make_node('GlobalAveragePool', ['s'], ['p'], name='pool'),
    helper.make_node('Flatten', ['p'], ['f'], name='flatten', axis=1),
    helper.make_node('Gemm', ['f', 'fc_w', 'fc_b'], ['y'], name='fc', transB=1),
]
g = helper.make_graph(nodes, 'quant_cli', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 16, 16])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
m.ir_version = 7
onnx.checker.check_model(m)
os.makedirs(out, exist_ok=True)
onnx.save(m, os.path.join(out, 'tiny.onnx'))
for d in ('calib', 'calib_bad', 'calib_empty'):
    os.makedirs(os.path.join(out, d), exist_ok=True)
for i in range(4):
    np.save(os.path.join(out, 'calib', 's%d.npy' % i), rng.uniform(-1, 1, (1, 3, 16, 16)).astype(np.float32))
np.save(os.path.join(out, 'calib_bad', 's0.npy'), np.zeros((1, 4, 16, 16), np.float32))
np.save(os.path.join(out, 'x.npy'), rng.uniform(-1, 1, (1, 3, 16, 16)).astype(np.float32))
]=])

add_test(NAME tools.quant_make_data COMMAND /usr/bin/python3 ${QD}/make_quant_cli_model.py ${QD})
set_tests_properties(tools.quant_make_data PROPERTIES FIXTURES_SETUP quant_onnx TIMEOUT 120)

function(quant_cli name mode regex)
  add_test(NAME tools.${name} COMMAND ${EXPECT} ${mode} ${regex} -- ${ARGN})
  set_tests_properties(tools.${name} PROPERTIES FIXTURES_REQUIRED quant_onnx TIMEOUT 60)
endfunction()

set(TINY ${QD}/tiny.onnx)
# Help and usage errors (one line, exit code 1).
quant_cli(quant_help ok "--precision P.*" ${CONVERT} --help)
quant_cli(quant_help_max_error ok "--max-error DB" ${CONVERT} --help)
quant_cli(quant_bad_precision fail "--precision: expected fp32, fp16, int8-dynamic or int8, got 'int4'"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int4)
quant_cli(quant_int8_needs_calibration fail "--precision int8 needs a calibration set"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8)
quant_cli(quant_bad_method fail "--calibration-method: expected minmax, percentile or entropy, got 'kl'"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/calib --calibration-method kl)
quant_cli(quant_percentile_range fail "--percentile: expected a value in \\(0, 100\\], got '101'"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/calib --percentile 101)
quant_cli(quant_percentile_zero fail "--percentile: expected a value in \\(0, 100\\], got '0'"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/calib --percentile 0)
quant_cli(quant_calibration_missing fail "--calibration: '.*nothere' is not a directory"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/nothere)
quant_cli(quant_calibration_wrong fail "calib_bad.*s0.npy"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/calib_bad --no-progress)
quant_cli(quant_calibration_empty fail "calib_empty"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/calib_empty --no-progress)
quant_cli(quant_max_error_fp16 fail "--max-error needs --precision int8 or int8-dynamic"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision fp16 --max-error 30)
quant_cli(quant_max_error_no_calibration fail "--max-error needs a calibration set"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8-dynamic --max-error 30)
quant_cli(quant_max_error_bad fail "--max-error: expected a positive SQNR in dB, got '-3'"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8-dynamic --max-error -3)
quant_cli(quant_samples_bad fail "--calibration-samples: expected a positive integer, got '0'"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8 --calibration ${QD}/calib --calibration-samples 0)
quant_cli(quant_method_needs_calibration fail "need --calibration DIR"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --precision int8-dynamic --calibration-method entropy)
quant_cli(quant_report_json_fp32 fail "--report-json needs --precision"
          ${CONVERT} ${TINY} -o ${QD}/x.pocket --report-json ${QD}/r.json)

# Conversions (exit code 0) and what they print.
quant_cli(quant_fp32_unchanged ok "output: .*tiny_fp32.pocket" ${CONVERT} ${TINY} -o ${QD}/tiny_fp32.pocket)
quant_cli(quant_fp16 ok "fc +Gemm +fp16 "
          ${CONVERT} ${TINY} -o ${QD}/tiny_fp16.pocket --precision fp16)
quant_cli(quant_fp16_keep_float ok "Conv +fp32 .*--keep-float Conv"
          ${CONVERT} ${TINY} -o ${QD}/tiny_fp16k.pocket --precision fp16 --keep-float Conv)
quant_cli(quant_int8_dynamic ok "fc +Gemm +int8-dynamic "
          ${CONVERT} ${TINY} -o ${QD}/tiny_dyn.pocket --precision int8-dynamic)
quant_cli(quant_int8 ok "model output SQNR vs fp32: [0-9]+"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8.pocket --precision int8 --calibration ${QD}/calib --no-progress
          --report-json ${QD}/tiny_int8.json)
quant_cli(quant_int8_header ok "^quantization: int8, calibration minmax on 4 samples$"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8h.pocket --precision int8 --calibration ${QD}/calib --no-progress)
quant_cli(quant_int8_transitions ok "fc +Gemm +fp32 .*--keep-float fc"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8t.pocket --precision int8 --calibration ${QD}/calib --no-progress --keep-float fc)
quant_cli(quant_int8_dynamic_weights ok "weights: 1\\.3 KiB -> 0\\.4 KiB \\(0\\.2[0-9]+x\\)"
          ${CONVERT} ${TINY} -o ${QD}/tiny_dynw.pocket --precision int8-dynamic)
quant_cli(quant_int8_percentile ok "calibration percentile on 2 samples"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8p.pocket --precision int8 --calibration ${QD}/calib
          --calibration-method percentile --percentile 99.9 --calibration-samples 2 --no-progress)
quant_cli(quant_int8_entropy ok "calibration entropy on 4 samples"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8e.pocket --precision int8 --calibration ${QD}/calib
          --calibration-method entropy --no-progress)
quant_cli(quant_keep_float_warning ok "warning: --keep-float nosuchlayer matches no node"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8w.pocket --precision int8 --calibration ${QD}/calib --no-progress
          --keep-float nosuchlayer,Gemm)
quant_cli(quant_max_error ok "max-error.*layer SQNR = "
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8m.pocket --precision int8 --calibration ${QD}/calib --no-progress
          --max-error 200)
quant_cli(quant_progress ok "calibrating +4/4"
          ${CONVERT} ${TINY} -o ${QD}/tiny_int8b.pocket --precision int8 --calibration ${QD}/calib)
set_tests_properties(tools.quant_int8 PROPERTIES FIXTURES_SETUP quant_int8_model)

# The JSON report and the converted model running in pocket-run.
add_test(NAME tools.quant_report_json
         COMMAND ${EXPECT} ok "^\\{\"precision\":\"int8\",\"method\":\"minmax\",\"samples\":4,\"layers\":\\[\\{\"name\":\"conv1\".*\"transitions\":2"
                 -- cat ${QD}/tiny_int8.json)
add_test(NAME tools.quant_int8_runs
         COMMAND ${EXPECT} ok "y +float32 +\\[1,4\\]" -- ${RUN} ${QD}/tiny_int8.pocket --input x=${QD}/x.npy)
set_tests_properties(tools.quant_report_json tools.quant_int8_runs PROPERTIES
                     FIXTURES_REQUIRED "quant_onnx;quant_int8_model" TIMEOUT 60)
