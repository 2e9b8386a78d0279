//! Unit tests of the ONNX importer on small graphs built in memory.

use super::proto::*;
use super::*;

fn dims(d: &[i64]) -> Vec<Dimension> {
    d.iter()
        .map(|&v| match v {
            -1 => Dimension {
                dim_value: None,
                dim_param: Some("batch".into()),
            },
            -2 => Dimension {
                dim_value: None,
                dim_param: Some("height".into()),
            },
            v => Dimension {
                dim_value: Some(v),
                dim_param: None,
            },
        })
        .collect()
}

fn vi(name: &str, d: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim: dims(d) }),
            }),
        }),
    }
}

/// A weight whose data is external and absent (weight-stripped).
fn weight(name: &str, d: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: d.to_vec(),
        data_type: data_type::FLOAT,
        data_location: 1,
        ..Default::default()
    }
}

fn int64s(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: data_type::INT64,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: v,
        ..Default::default()
    }
}

fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::STRING,
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

fn model(input: ValueInfoProto, node: Vec<NodeProto>, initializer: Vec<TensorProto>) -> ModelProto {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            node,
            initializer,
            input: vec![input],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn run(m: &ModelProto) -> Result<Import, NetworkError> {
    import(&m.to_bytes(), "t.onnx", "t", &ImportOptions::default())
}

fn conv_out(attrs: Vec<AttributeProto>, input: &[i64], w: &[i64]) -> Result<(Vec<u32>, Import), NetworkError> {
    let m = model(
        vi("x", input),
        vec![node("Conv", "c", &["x", "w"], &["y"], attrs)],
        vec![weight("w", w)],
    );
    let imp = run(&m)?;
    let d = imp.network.layers[0].shape.dims();
    Ok((
        vec![d.c_in, d.c_out, d.kernel_h, d.kernel_w, d.groups, d.out_h, d.out_w],
        imp,
    ))
}

#[test]
fn conv_padding_modes() {
    // Explicit symmetric padding: (224 + 6 - 7)/2 + 1 = 112.
    let (d, _) = conv_out(
        vec![ints("pads", &[3, 3, 3, 3]), ints("strides", &[2, 2])],
        &[-1, 3, 224, 224],
        &[64, 3, 7, 7],
    )
    .unwrap();
    assert_eq!(d, [3, 64, 7, 7, 1, 112, 112]);
    // SAME_UPPER with stride 2 on an odd input: ceil(15/2) = 8; total pad 2 = 1 + 1.
    for mode in ["SAME_UPPER", "SAME_LOWER"] {
        let (d, imp) = conv_out(
            vec![string("auto_pad", mode), ints("strides", &[2, 2])],
            &[1, 4, 15, 16],
            &[8, 4, 3, 3],
        )
        .unwrap();
        assert_eq!(d[5..], [8, 8], "{mode}");
        assert_eq!(imp.network.layers[0].padding.0, 1);
    }
    // Even kernel: SAME_UPPER pads (0, 1), SAME_LOWER (1, 0).
    let (_, up) = conv_out(vec![string("auto_pad", "SAME_UPPER")], &[1, 4, 8, 8], &[8, 4, 2, 2]).unwrap();
    let (_, low) = conv_out(vec![string("auto_pad", "SAME_LOWER")], &[1, 4, 8, 8], &[8, 4, 2, 2]).unwrap();
    assert_eq!((up.network.layers[0].padding, up.origins[0].pad_end), ((0, 0), (1, 1)));
    assert_eq!(
        (low.network.layers[0].padding, low.origins[0].pad_end),
        ((1, 1), (0, 0))
    );
    // VALID: (10 - 3)/1 + 1 = 8.
    let (d, _) = conv_out(vec![string("auto_pad", "VALID")], &[1, 4, 10, 10], &[8, 4, 3, 3]).unwrap();
    assert_eq!(d[5..], [8, 8]);
    // Asymmetric explicit pads (top 0, left 1, bottom 2, right 0).
    let (d, imp) = conv_out(vec![ints("pads", &[0, 1, 2, 0])], &[1, 4, 10, 10], &[8, 4, 3, 3]).unwrap();
    assert_eq!(d[5..], [10, 9]);
    assert_eq!(
        (imp.network.layers[0].padding, imp.origins[0].pad_end),
        ((0, 1), (2, 0))
    );
}

#[test]
fn dilation_and_groups() {
    // Dilation 2: a 3x3 kernel spans 5; (20 + 4 - 5)/1 + 1 = 20. Crossbar shape keeps 3x3.
    let (d, imp) = conv_out(
        vec![ints("pads", &[2, 2, 2, 2]), ints("dilations", &[2, 2])],
        &[1, 8, 20, 20],
        &[8, 8, 3, 3],
    )
    .unwrap();
    assert_eq!(d, [8, 8, 3, 3, 1, 20, 20]);
    assert_eq!(imp.origins[0].dilation, (2, 2));
    // Depthwise: 32 groups of one channel.
    let (d, imp) = conv_out(
        vec![int("group", 32), ints("pads", &[1, 1, 1, 1])],
        &[1, 32, 14, 14],
        &[32, 1, 3, 3],
    )
    .unwrap();
    assert_eq!(d[4], 32);
    assert!(imp.network.layers[0].shape.is_depthwise());
    // Weight channels times groups must equal the input channels.
    let e = conv_out(vec![int("group", 3)], &[1, 32, 14, 14], &[32, 1, 3, 3]).unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("c"), Some("group")),
        "{e}"
    );
    // Conv1d maps as a 1 x L feature map.
    let (d, _) = conv_out(vec![], &[1, 4, 50], &[8, 4, 5]).unwrap();
    assert_eq!(d, [4, 8, 1, 5, 1, 1, 46]);
}

#[test]
fn gemm_matmul_and_the_view_chain() {
    // x [batch, 16, 4, 4] -> Shape -> Gather(0) -> Unsqueeze -> Concat([n], [-1]) -> Reshape
    // -> Gemm(transB) with a [10, 256] weight -> MatMul with a [10, 5] weight.
    let nodes = vec![
        node("Shape", "shape", &["x"], &["s"], vec![]),
        node("Gather", "gather", &["s", "zero"], &["n"], vec![int("axis", 0)]),
        node("Unsqueeze", "unsq", &["n", "axes0"], &["n1"], vec![]),
        node("Concat", "cat", &["n1", "minus1"], &["target"], vec![int("axis", 0)]),
        node("Reshape", "view", &["x", "target"], &["flat"], vec![]),
        node("Gemm", "fc", &["flat", "w", "b"], &["y"], vec![int("transB", 1)]),
        node("MatMul", "head", &["y", "w2"], &["z"], vec![]),
        node("MatMul", "gram", &["z", "zt"], &["g"], vec![]),
        node("Transpose", "t", &["z"], &["zt"], vec![]),
    ];
    let mut zero = int64s("zero", &[0]);
    zero.dims.clear();
    let inits = vec![
        zero,
        int64s("axes0", &[0]),
        int64s("minus1", &[-1]),
        weight("w", &[10, 256]),
        weight("b", &[10]),
        weight("w2", &[10, 5]),
    ];
    let imp = run(&model(vi("x", &[-1, 16, 4, 4]), nodes, inits)).unwrap();
    let shapes: Vec<_> = imp
        .network
        .layers
        .iter()
        .map(|l| (l.shape.dims().c_in, l.shape.dims().c_out))
        .collect();
    assert_eq!(shapes, [(256, 10), (10, 5)]);
    assert_eq!(imp.input, ("x".to_owned(), vec![1, 16, 4, 4]));
    let gram = imp.skipped.iter().find(|s| s.node == "gram").unwrap();
    assert!(gram.reason.contains("no stationary weights"), "{gram:?}");
    assert_eq!(imp.skipped.len(), 7);
}

#[test]
fn matmul_over_positions_is_a_pointwise_conv() {
    let m = model(
        vi("x", &[1, 7, 32]),
        vec![node("MatMul", "proj", &["x", "w"], &["y"], vec![])],
        vec![weight("w", &[32, 64])],
    );
    let imp = run(&m).unwrap();
    let d = imp.network.layers[0].shape.dims();
    assert_eq!(
        (d.c_in, d.c_out, d.kernel_h, d.in_h, d.out_h, d.out_w),
        (32, 64, 1, 7, 7, 1)
    );
}

#[test]
fn weights_as_constants_or_graph_inputs() {
    // Weight from a Constant node (data absent), through Identity.
    let constant = NodeProto {
        attribute: vec![AttributeProto {
            name: "value".into(),
            r#type: attribute_type::TENSOR,
            t: Some(weight("", &[8, 4, 1, 1])),
            ..Default::default()
        }],
        ..node("Constant", "k", &[], &["wk"], vec![])
    };
    let nodes = vec![
        constant,
        node("Identity", "id", &["wk"], &["w"], vec![]),
        node("Conv", "c", &["x", "w"], &["y"], vec![]),
    ];
    let imp = run(&model(vi("x", &[1, 4, 6, 6]), nodes, vec![])).unwrap();
    assert_eq!(imp.network.layers[0].shape.dims().c_out, 8);
    // IR 3: initializers are listed among the graph inputs too.
    let mut m = model(
        vi("x", &[1, 4, 6, 6]),
        vec![node("Conv", "c", &["x", "w"], &["y"], vec![])],
        vec![weight("w", &[8, 4, 3, 3])],
    );
    m.ir_version = 3;
    if let Some(g) = m.graph.as_mut() {
        g.input.push(vi("w", &[8, 4, 3, 3]));
    }
    assert_eq!(run(&m).unwrap().network.layers[0].shape.dims().out_h, 4);
}

#[test]
fn resize_pool_and_value_info() {
    let scales = TensorProto {
        name: "scales".into(),
        dims: vec![4],
        data_type: data_type::FLOAT,
        float_data: vec![1.0, 1.0, 2.0, 2.0],
        ..Default::default()
    };
    let nodes = vec![
        node(
            "MaxPool",
            "pool",
            &["x"],
            &["p"],
            vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[2, 2]),
                int("ceil_mode", 1),
            ],
        ),
        node("Resize", "up", &["p", "", "scales"], &["u"], vec![]),
        node("Conv", "c", &["u", "w"], &["y"], vec![]),
    ];
    let mut m = model(
        vi("x", &[1, 4, 10, 10]),
        nodes,
        vec![scales, weight("w", &[8, 4, 1, 1])],
    );
    // ceil((10 - 3)/2) + 1 = 5, doubled to 10.
    let imp = run(&m).unwrap();
    assert_eq!(imp.network.layers[0].shape.dims().in_h, 10);
    // value_info agreeing passes; disagreeing names the node and output.
    if let Some(g) = m.graph.as_mut() {
        g.value_info.push(vi("p", &[-1, 4, 5, 5]));
    }
    run(&m).unwrap();
    if let Some(g) = m.graph.as_mut() {
        g.value_info.push(vi("u", &[1, 4, 11, 10]));
    }
    let e = run(&m).unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("up"), Some("output[0]")),
        "{e}"
    );
    assert!(e.message.starts_with("Resize node: value_info records"), "{e}");
}

#[test]
fn unknown_ops_are_listed_or_refused() {
    let unknown = |vi_shape: Option<&[i64]>| {
        let nodes = vec![
            node("FancyOp", "fancy", &["x"], &["f"], vec![]),
            node("Conv", "c", &["f", "w"], &["y"], vec![]),
        ];
        let mut m = model(vi("x", &[1, 4, 6, 6]), nodes, vec![weight("w", &[8, 4, 1, 1])]);
        if let (Some(g), Some(s)) = (m.graph.as_mut(), vi_shape) {
            g.value_info.push(vi("f", s));
        }
        run(&m)
    };
    let e = unknown(None).unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("c"), Some("input[0]")),
        "{e}"
    );
    assert!(e.message.contains("`fancy` (FancyOp)"), "{e}");
    let imp = unknown(Some(&[1, 4, 6, 6])).unwrap();
    assert_eq!(imp.skipped[0].op_type, "FancyOp");
    assert!(imp.skipped[0].reason.contains("value_info"));
}

#[test]
fn symbolic_spatial_size_needs_an_input_shape() {
    let m = model(
        vi("x", &[-1, 3, -2, 32]),
        vec![node("Conv", "c", &["x", "w"], &["y"], vec![])],
        vec![weight("w", &[8, 3, 3, 3])],
    );
    let e = run(&m).unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("x"), Some("dim[2]")),
        "{e}"
    );
    assert!(e.message.contains("--input-shape"), "{e}");
    let options = ImportOptions {
        input_shape: Some([3, 16, 32]),
    };
    let imp = import(&m.to_bytes(), "t.onnx", "t", &options).unwrap();
    assert_eq!(imp.network.layers[0].shape.dims().out_h, 14);
    let wrong = ImportOptions {
        input_shape: Some([4, 16, 32]),
    };
    let e = import(&m.to_bytes(), "t.onnx", "t", &wrong).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("input_shape"), "{e}");
}

#[test]
fn bad_files_name_node_op_and_field() {
    let good = model(
        vi("x", &[1, 4, 6, 6]),
        vec![node("Conv", "c", &["x", "w"], &["y"], vec![])],
        vec![weight("w", &[8, 4, 3, 3])],
    );
    let bytes = good.to_bytes();
    let e = import(&bytes[..bytes.len() / 2], "t.onnx", "t", &ImportOptions::default()).unwrap_err();
    assert!(e.message.starts_with("not a valid ONNX model"), "{e}");
    let e = import(b"name,kind\nfc,fc\n", "t.onnx", "t", &ImportOptions::default()).unwrap_err();
    assert!(e.message.contains("ONNX"), "{e}");
    let e = import(b"", "t.onnx", "t", &ImportOptions::default()).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ir_version"), "{e}");
    let mut old = good.clone();
    old.opset_import[0].version = 5;
    let e = run(&old).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("opset_import"), "{e}");
    // Runtime weight.
    let mut rt = model(
        vi("x", &[1, 4, 6, 6]),
        vec![node("Conv", "c", &["x", "w"], &["y"], vec![])],
        vec![],
    );
    if let Some(g) = rt.graph.as_mut() {
        g.input.push(vi("w", &[8, 4, 3, 3]));
    }
    let e = run(&rt).unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("c"), Some("input[1]")),
        "{e}"
    );
    assert!(
        e.message
            .starts_with("Conv node: the weight `w` is computed at run time"),
        "{e}"
    );
    // Cycle.
    let cyc = model(
        vi("x", &[1, 4, 6, 6]),
        vec![
            node("Add", "a", &["x", "b_out"], &["a_out"], vec![]),
            node("Relu", "b", &["a_out"], &["b_out"], vec![]),
        ],
        vec![],
    );
    let e = run(&cyc).unwrap_err();
    assert!(e.message.contains("cycle"), "{e}");
    assert_eq!(e.field.as_deref(), Some("input"));
    // Reshape with a computed shape.
    let nodes = vec![
        node("Relu", "r", &["x"], &["shape_f"], vec![]),
        node("Cast", "cast", &["shape_f"], &["shape_i"], vec![]),
        node("Reshape", "view", &["x", "shape_i"], &["y"], vec![]),
    ];
    let e = run(&model(vi("x", &[1, 4]), nodes, vec![])).unwrap_err();
    assert_eq!(
        (e.layer.as_deref(), e.field.as_deref()),
        (Some("view"), Some("input[1]")),
        "{e}"
    );
    assert!(e.message.starts_with("Reshape node: computed at run time"), "{e}");
    // A weighted op that cannot be mapped.
    let ct = model(
        vi("x", &[1, 4, 6, 6]),
        vec![node("ConvTranspose", "up", &["x", "w"], &["y"], vec![])],
        vec![weight("w", &[4, 8, 2, 2])],
    );
    let e = run(&ct).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("op_type"), "{e}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap stand-in for the fuzz target: every prefix and some bit flips of a valid file.
    let good = model(
        vi("x", &[1, 4, 6, 6]),
        vec![node(
            "Conv",
            "c",
            &["x", "w"],
            &["y"],
            vec![ints("pads", &[1, 1, 1, 1])],
        )],
        vec![weight("w", &[8, 4, 3, 3])],
    );
    let bytes = good.to_bytes();
    for cut in 0..bytes.len() {
        let _ = import(&bytes[..cut], "t.onnx", "t", &ImportOptions::default());
    }
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            let _ = import(&b, "t.onnx", "t", &ImportOptions::default());
        }
    }
}
