//! Built-in VGG-16, MobileNetV2 and the networks this project trains (digits, fashion).
//!
//! VGG-16 and MobileNetV2 are torchvision's (ImageNet, 224x224x3 input) and their layer
//! names are torchvision's parameter prefixes (`features.0`, `classifier.6`,
//! `features.2.conv.1.0`). The digits network is the project's own CNN for the 8x8 UCI
//! digits; its shapes are fixed by the trained weights and must not change.

use super::builder::Builder;
use super::{Network, NetworkError};
use lrmp_trained::graph::{GraphSpec, Op};

/// VGG-16 (configuration D): 13 convolutions and 3 fully-connected layers.
pub(crate) fn vgg16() -> Result<Network, NetworkError> {
    // Channels of each 3x3 convolution; 0 marks a 2x2/2 max pool.
    const CONFIG: [u32; 18] = [
        64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
    ];
    let mut b = Builder::new("vgg16", 3, 224, 224);
    // torchvision numbers every module of `features`: a convolution and its ReLU take two
    // indices, a pool one.
    let mut index = 0;
    for channels in CONFIG {
        if channels == 0 {
            b.pool(2, 2, 0);
            index += 1;
        } else {
            b.conv(&format!("features.{index}"), channels, 3, 1, 1, 1);
            index += 2;
        }
    }
    // The adaptive 7x7 average pool is the identity on a 7x7 map; flatten gives 25088.
    b.fc("classifier.0", 4096)
        .fc("classifier.3", 4096)
        .fc("classifier.6", 1000);
    b.finish()
}

/// MobileNetV2 (Sandler et al. 2018), width multiplier 1.0.
pub(crate) fn mobilenetv2() -> Result<Network, NetworkError> {
    // (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2.
    const SETTINGS: [(u32, u32, u32, u32); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut b = Builder::new("mobilenetv2", 3, 224, 224);
    b.conv("features.0.0", 32, 3, 2, 1, 1);
    let mut feature = 1;
    for (expansion, c_out, repeats, first_stride) in SETTINGS {
        for repeat in 0..repeats {
            let stride = if repeat == 0 { first_stride } else { 1 };
            inverted_residual(&mut b, &format!("features.{feature}.conv"), expansion, c_out, stride);
            feature += 1;
        }
    }
    b.conv(&format!("features.{feature}.0"), 1280, 1, 1, 0, 1);
    b.global_pool().fc("classifier.1", 1000);
    b.finish()
}

/// One inverted residual: 1x1 expand (absent when `t = 1`), 3x3 depthwise, 1x1 project;
/// the input is added back when the shape is unchanged.
fn inverted_residual(b: &mut Builder, prefix: &str, expansion: u32, c_out: u32, stride: u32) {
    let input = b.current();
    let hidden = input.c * expansion;
    let mut part = 0;
    if expansion != 1 {
        b.conv(&format!("{prefix}.{part}.0"), hidden, 1, 1, 0, 1);
        part += 1;
    }
    b.conv(&format!("{prefix}.{part}.0"), hidden, 3, stride, 1, hidden);
    b.conv(&format!("{prefix}.{}", part + 1), c_out, 1, 1, 0, 1);
    if stride == 1 && input.c == c_out {
        b.add(&format!("{prefix}.add"), input);
    }
}

/// A network this project trains (`digits`, `fashion`), built from its one definition
/// (`lrmp_trained`'s [`GraphSpec`]): every mappable layer with the shape of the tensor it
/// reads; adds and pools shape the tensors but add no layer.
pub(crate) fn trained(spec: &GraphSpec) -> Result<Network, NetworkError> {
    let err = |message: &str| NetworkError {
        source: format!("builtin:{}", spec.name),
        layer: None,
        field: None,
        message: message.to_owned(),
    };
    let narrow = |v: usize| u32::try_from(v).map_err(|_| err("a dimension does not fit in 32 bits"));
    let (c, h, w) = spec.input;
    let mut b = Builder::new(spec.name, narrow(c)?, narrow(h)?, narrow(w)?);
    let mut tensors = vec![b.current()];
    for node in spec.nodes {
        let &input = tensors
            .get(node.input)
            .ok_or_else(|| err("a node reads a later tensor"))?;
        b.resume(input);
        match node.op {
            Op::Layer { name, geometry: g, .. } => {
                if g.is_fc() {
                    b.fc(name, narrow(g.c_out)?);
                } else if g.kernel.0 != g.kernel.1 || g.stride.0 != g.stride.1 || g.pad.0 != g.pad.1 {
                    return Err(err("the builder takes square kernels, strides and padding"));
                } else {
                    b.conv(
                        name,
                        narrow(g.c_out)?,
                        narrow(g.kernel.0)?,
                        narrow(g.stride.0)?,
                        narrow(g.pad.0)?,
                        narrow(g.groups)?,
                    );
                }
            }
            Op::Add { other, .. } => {
                let &other = tensors.get(other).ok_or_else(|| err("an add reads a later tensor"))?;
                b.add("add", other);
            }
            Op::MaxPool { size } => {
                b.pool(narrow(size)?, narrow(size)?, 0);
            }
            Op::GlobalAvgPool => {
                b.global_pool();
            }
        }
        tensors.push(b.current());
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg16_layers() {
        let net = vgg16().unwrap();
        assert_eq!(net.layers.len(), 16);
        let names: Vec<_> = net.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names[..3], ["features.0", "features.2", "features.5"]);
        assert_eq!(names[12], "features.28");
        let fc1 = net.layer("classifier.0").unwrap().shape.dims();
        assert_eq!((fc1.c_in, fc1.c_out), (25088, 4096));
        let last_conv = net.layer("features.28").unwrap().shape.dims();
        assert_eq!((last_conv.c_in, last_conv.in_h, last_conv.out_h), (512, 14, 14));
    }

    #[test]
    fn mobilenetv2_layers() {
        let net = mobilenetv2().unwrap();
        // stem + (dw, project) + 16 * (expand, dw, project) + 1x1 to 1280 + classifier.
        assert_eq!(net.layers.len(), 1 + 2 + 16 * 3 + 1 + 1);
        assert_eq!(net.layers.len(), 53);
        let depthwise = net.layers.iter().filter(|l| l.shape.is_depthwise()).count();
        assert_eq!(depthwise, 17);
        let dw = net.layer("features.2.conv.1.0").unwrap();
        let d = dw.shape.dims();
        assert_eq!(
            (d.c_in, d.groups, d.in_h, d.out_h, dw.stride),
            (96, 96, 112, 56, (2, 2))
        );
        let first = net.layer("features.1.conv.1").unwrap().shape.dims();
        assert_eq!((first.c_in, first.c_out, first.kernel_h), (32, 16, 1));
        let last = net.layer("features.18.0").unwrap().shape.dims();
        assert_eq!((last.c_in, last.c_out, last.out_h), (320, 1280, 7));
        let fc = net.layer("classifier.1").unwrap().shape.dims();
        assert_eq!((fc.c_in, fc.c_out), (1280, 1000));
    }

    #[test]
    fn digits_shapes_are_fixed() {
        let net = trained(&lrmp_trained::digits::SPEC).unwrap();
        let dims: Vec<_> = net
            .layers
            .iter()
            .map(|l| {
                let d = l.shape.dims();
                (l.name.as_str(), d.c_in, d.c_out, d.in_h, d.out_h)
            })
            .collect();
        assert_eq!(
            dims,
            [
                ("conv1", 1, 16, 8, 8),
                ("conv2", 16, 32, 8, 4),
                ("fc1", 512, 64, 1, 1),
                ("fc2", 64, 10, 1, 1)
            ]
        );
    }

    #[test]
    fn fashion_has_its_residual_structure_in_layers() {
        let net = trained(&lrmp_trained::fashion::SPEC).unwrap();
        assert_eq!(net.layers.len(), 13);
        let dw = net.layer("b3.dw").unwrap().shape;
        assert!(dw.is_depthwise());
        let sc = net.layer("b2.shortcut").unwrap().shape.dims();
        assert_eq!((sc.c_in, sc.c_out, sc.kernel_h, sc.in_h, sc.out_h), (16, 32, 1, 14, 7));
        let fc = net.layer("fc").unwrap().shape.dims();
        assert_eq!((fc.c_in, fc.c_out), (64, 10));
    }
}
