//! ONNX fixtures of the bad-input catalogue: a small valid graph (input `x` [batch, 4, 8, 8],
//! a 3x3 `Conv` `conv` with a weight-stripped initializer, a `Relu` `relu`, a `Flatten` and
//! a `Gemm` `fc`) and one broken variant per row.

use host_optimizer::network::onnx::proto::{
    attribute_type, data_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            dim_value: *d,
            dim_param: d.is_none().then(|| "n".to_owned()),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

/// A weight with its data external and absent.
fn weight(name: &str, dims: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: data_type::FLOAT,
        data_location: 1,
        ..Default::default()
    }
}

fn node(op: &str, name: &str, input: &[&str], output: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: input.iter().map(|s| s.to_string()).collect(),
        output: output.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model() -> ModelProto {
    let mut conv = node("Conv", "conv", &["x", "w"], &["c"]);
    conv.attribute.push(AttributeProto {
        name: "pads".into(),
        r#type: attribute_type::INTS,
        ints: vec![1, 1, 1, 1],
        ..Default::default()
    });
    let mut gemm = node("Gemm", "fc", &["f", "w2"], &["y"]);
    gemm.attribute.push(AttributeProto {
        name: "transB".into(),
        r#type: attribute_type::INT,
        i: 1,
        ..Default::default()
    });
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            node: vec![
                conv,
                node("Relu", "relu", &["c"], &["r"]),
                node("Flatten", "flatten", &["r"], &["f"]),
                gemm,
            ],
            initializer: vec![weight("w", &[4, 4, 3, 3]), weight("w2", &[10, 256])],
            input: vec![value_info("x", &[None, Some(4), Some(8), Some(8)])],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn with(change: impl FnOnce(&mut GraphProto)) -> Vec<u8> {
    let mut m = model();
    if let Some(g) = m.graph.as_mut() {
        change(g);
    }
    m.to_bytes()
}

/// The valid graph, cut in the middle.
pub fn truncated() -> Vec<u8> {
    let bytes = model().to_bytes();
    bytes.get(..bytes.len() / 2).unwrap_or_default().to_vec()
}

/// Opset 5 (older than the importer reads).
pub fn old_opset() -> Vec<u8> {
    let mut m = model();
    if let Some(o) = m.opset_import.first_mut() {
        o.version = 5;
    }
    m.to_bytes()
}

/// The conv's weight is a graph input, not an initializer.
pub fn runtime_weight() -> Vec<u8> {
    with(|g| {
        g.initializer.retain(|t| t.name != "w");
        g.input.push(value_info("w", &[Some(4), Some(4), Some(3), Some(3)]));
    })
}

/// `value_info` records the relu's output with a wrong height.
pub fn wrong_value_info() -> Vec<u8> {
    with(|g| {
        g.value_info
            .push(value_info("r", &[Some(1), Some(4), Some(9), Some(8)]))
    })
}

/// The relu feeds the conv that feeds it.
pub fn cycle() -> Vec<u8> {
    with(|g| {
        if let Some(conv) = g.node.first_mut() {
            conv.input = vec!["r".into(), "w".into()];
        }
    })
}

/// A Reshape whose target shape is computed from the data.
pub fn computed_reshape() -> Vec<u8> {
    with(|g| {
        g.node.insert(2, node("Cast", "cast", &["r"], &["target"]));
        g.node.insert(3, node("Reshape", "view", &["r", "target"], &["v"]));
        if let Some(flatten) = g.node.get_mut(4) {
            flatten.input = vec!["v".into()];
        }
    })
}

/// The input's height is symbolic.
pub fn symbolic_size() -> Vec<u8> {
    with(|g| g.input = vec![value_info("x", &[None, Some(4), None, Some(8)])])
}

/// An operator the importer does not know feeds the conv.
pub fn unknown_op() -> Vec<u8> {
    with(|g| {
        g.node.insert(0, node("FancyOp", "fancy", &["x"], &["x2"]));
        if let Some(conv) = g.node.get_mut(1) {
            conv.input = vec!["x2".into(), "w".into()];
        }
    })
}
