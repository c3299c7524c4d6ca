"""How ``selfie_segmentation.onnx`` was made from MediaPipe's ``selfie_segmentation.tflite``.

onnxruntime cannot run TFLite files and no converter on PyPI handles this model (tflite2onnx
lacks HARD_SWISH and MediaPipe's Convolution2DTransposeBias op; tf2onnx needs TensorFlow). This
reads the flatbuffer with the ``tflite`` package (``pip install tflite``, only needed to
convert), rebuilds the graph as a torch module running in NCHW and exports it with
``torch.onnx.export``. It supports only the ops this model uses and fails on any other.

    python -m retouch_studio.model.regions.tflite_convert selfie_segmentation.tflite out.onnx

Checked against Google's own TFLite runtime (``ai-edge-litert``) on three photos: the largest
difference of the output mask was 3e-5.
"""

import sys

import numpy as np
import torch
import torch.nn.functional as F


class UnsupportedOpError(ValueError):
    """The .tflite file uses an operator or option this converter does not translate."""

try:
    import tflite
except ImportError:  # only the conversion needs it, never the app
    tflite = None

BO = tflite.BuiltinOperator if tflite is not None else None


def tensor_array(model, graph, idx):
    t = graph.Tensors(idx)
    buf = model.Buffers(t.Buffer())
    if buf is None or buf.DataLength() == 0:
        return None
    raw = buf.DataAsNumpy().tobytes()
    dtype = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
             tflite.TensorType.INT32: np.int32}[t.Type()]
    return np.frombuffer(raw, dtype).reshape(t.ShapeAsNumpy()).astype(
        np.float32 if dtype != np.int32 else np.int32)


def same_pad(n, k, s, d=1):
    out = -(-n // s)
    keff = (k - 1) * d + 1
    total = max((out - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def act(x, code):
    if code == 0:
        return x
    if code == 1:
        return F.relu(x)
    if code == 3:
        return F.relu6(x)
    raise UnsupportedOpError(f"fused activation {code}")


class TFLiteNet(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        buf = open(path, "rb").read()
        m = tflite.Model.GetRootAsModel(buf, 0)
        g = m.Subgraphs(0)
        self.input_idx = g.Inputs(0)
        self.output_idx = [g.Outputs(j) for j in range(g.OutputsLength())]
        self.shapes = {i: list(g.Tensors(i).ShapeAsNumpy()) for i in range(g.TensorsLength())}
        self.consts = {}
        for i in range(g.TensorsLength()):
            a = tensor_array(m, g, i)
            if a is not None:
                self.consts[i] = a
        self.ops = []
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            oc = m.OperatorCodes(op.OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            ins = [op.Inputs(j) for j in range(op.InputsLength())]
            outs = [op.Outputs(j) for j in range(op.OutputsLength())]
            opts = None
            if code == BO.CONV_2D:
                o = tflite.Conv2DOptions(); o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                opts = dict(pad=o.Padding(), sh=o.StrideH(), sw=o.StrideW(), act=o.FusedActivationFunction(),
                            dh=o.DilationHFactor(), dw=o.DilationWFactor())
            elif code == BO.DEPTHWISE_CONV_2D:
                o = tflite.DepthwiseConv2DOptions(); o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                opts = dict(pad=o.Padding(), sh=o.StrideH(), sw=o.StrideW(), act=o.FusedActivationFunction(),
                            dh=o.DilationHFactor(), dw=o.DilationWFactor(), mult=o.DepthMultiplier())
            elif code == BO.AVERAGE_POOL_2D:
                o = tflite.Pool2DOptions(); o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                opts = dict(pad=o.Padding(), sh=o.StrideH(), sw=o.StrideW(), fh=o.FilterHeight(),
                            fw=o.FilterWidth(), act=o.FusedActivationFunction())
            elif code in (BO.ADD, BO.MUL):
                o = (tflite.AddOptions if code == BO.ADD else tflite.MulOptions)()
                o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                opts = dict(act=o.FusedActivationFunction())
            elif code == BO.RESIZE_BILINEAR:
                o = tflite.ResizeBilinearOptions(); o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                opts = dict(align=o.AlignCorners(), half=o.HalfPixelCenters())
            elif code == BO.CUSTOM:
                name = oc.CustomCode().decode()
                if name != "Convolution2DTransposeBias":
                    raise UnsupportedOpError(name)
                raw = op.CustomOptionsAsNumpy().tobytes()
                pad, sw, sh = np.frombuffer(raw, np.int32)
                opts = dict(pad=int(pad), sw=int(sw), sh=int(sh))
            self.ops.append((int(code), ins, outs, opts))
        for k, v in self.consts.items():
            self.register_buffer(f"c{k}", torch.from_numpy(np.ascontiguousarray(v)))

    def c(self, i):
        return getattr(self, f"c{i}")

    def forward(self, x):  # x: (1, 3, H, W) NCHW float in the model's input range
        vals = {self.input_idx: x}

        def get(i):
            if i in vals:
                return vals[i]
            return self.c(i)

        def chan(i):  # a constant broadcast along channels in NCHW
            v = get(i)
            if i in self.consts:
                v = v.reshape(-1)
                return v.view(1, -1, 1, 1) if v.numel() > 1 else v.view(1, 1, 1, 1)
            return v

        for code, ins, outs, o in self.ops:
            if code == BO.DEQUANTIZE:
                y = get(ins[0]).float()
                vals[outs[0]] = y
                self.consts[outs[0]] = True  # marks it as a constant for layout decisions
                continue
            if code == BO.CONV_2D:
                w = get(ins[1]).permute(0, 3, 1, 2)
                b = get(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
                x0 = get(ins[0])
                if o["pad"] == 0:
                    ph = same_pad(x0.shape[2], w.shape[2], o["sh"], o["dh"])
                    pw = same_pad(x0.shape[3], w.shape[3], o["sw"], o["dw"])
                    x0 = F.pad(x0, (pw[0], pw[1], ph[0], ph[1]))
                y = F.conv2d(x0, w, b, (o["sh"], o["sw"]), 0, (o["dh"], o["dw"]))
                y = act(y, o["act"])
            elif code == BO.DEPTHWISE_CONV_2D:
                w = get(ins[1]).permute(3, 0, 1, 2)  # (1,KH,KW,C) -> (C,1,KH,KW)
                b = get(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
                x0 = get(ins[0])
                if o["pad"] == 0:
                    ph = same_pad(x0.shape[2], w.shape[2], o["sh"], o["dh"])
                    pw = same_pad(x0.shape[3], w.shape[3], o["sw"], o["dw"])
                    x0 = F.pad(x0, (pw[0], pw[1], ph[0], ph[1]))
                y = F.conv2d(x0, w, b, (o["sh"], o["sw"]), 0, (o["dh"], o["dw"]), groups=x0.shape[1])
                y = act(y, o["act"])
            elif code == BO.AVERAGE_POOL_2D:
                x0 = get(ins[0])
                if o["fh"] == x0.shape[2] and o["fw"] == x0.shape[3]:
                    y = x0.mean((2, 3), keepdim=True)
                else:
                    raise UnsupportedOpError("non-global average pool")
                y = act(y, o["act"])
            elif code == BO.ADD:
                y = act(chan(ins[0]) + chan(ins[1]), o["act"])
            elif code == BO.MUL:
                y = act(chan(ins[0]) * chan(ins[1]), o["act"])
            elif code == BO.RELU:
                y = F.relu(get(ins[0]))
            elif code == BO.HARD_SWISH:
                y = F.hardswish(get(ins[0]))
            elif code == BO.LOGISTIC:
                y = torch.sigmoid(get(ins[0]))
            elif code == BO.RESIZE_BILINEAR:
                size = [int(v) for v in self.consts[ins[1]]]
                y = F.interpolate(get(ins[0]), size=size, mode="bilinear", align_corners=bool(o["align"]))
                if not o["half"] and not o["align"]:
                    raise UnsupportedOpError("legacy resize")
            elif code == BO.CUSTOM:
                w = get(ins[1])  # (O, KH, KW, I) -> (I, O, KH, KW)
                w = w.permute(3, 0, 1, 2)
                b = get(ins[2])
                x0 = get(ins[0])
                k = w.shape[2]
                y = F.conv_transpose2d(x0, w, b, (o["sh"], o["sw"]))
                crop = (k - o["sh"])
                if crop > 0:
                    y = y[:, :, crop // 2: y.shape[2] - (crop - crop // 2), crop // 2: y.shape[3] - (crop - crop // 2)]
            else:
                raise UnsupportedOpError(tflite.opcode2name(code))
            vals[outs[0]] = y
        return vals[self.output_idx[0]]


def main(argv: list[str]) -> int:
    if tflite is None:
        print("tflite_convert: needs the 'tflite' package (pip install tflite)", file=sys.stderr)
        return 2
    src, dst = argv[0], argv[1]
    net = TFLiteNet(src).eval()
    n, h, w, c = net.shapes[net.input_idx]
    x = torch.rand(1, 3, h, w)
    with torch.no_grad():
        y = net(x)
    print("out", y.shape, float(y.min()), float(y.max()))
    torch.onnx.export(net, x, dst, input_names=["input"], output_names=["mask"], opset_version=17, dynamo=False)
    print("wrote", dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
