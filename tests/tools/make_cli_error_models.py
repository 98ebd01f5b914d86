# ONNX files for pocket-convert's error tests (tests/tools/cli_errors.cmake):
#   unsupported.onnx  two nodes of op types no converter knows (both must be named in one line)
#   bad_opset.onnx    opset 3, older than any the converter reads
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4])
nodes = [helper.make_node('Frobnicate', ['x'], ['a'], name='frob1'),
         helper.make_node('Relu', ['a'], ['b'], name='relu'),
         helper.make_node('Defenestrate', ['b'], ['y'], name='defen1')]
g = helper.make_graph(nodes, 'unsupported', [x], [y])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
m.ir_version = 7
onnx.save(m, os.path.join(out, 'unsupported.onnx'))
g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'], name='relu')], 'old', [x], [y])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 3)])
m.ir_version = 3
onnx.save(m, os.path.join(out, 'bad_opset.onnx'))
