//! Built-in ResNets (He et al. 2016) on 224x224x3 ImageNet input, as torchvision builds
//! them: v1.5, i.e. a bottleneck's stride sits on its 3x3 convolution.
//!
//! Layer names follow torchvision's module names (`conv1`, `layer1.0.conv1`, `fc`), except
//! that the 1x1 projection shortcut is called `layerI.J.downsample` (torchvision's
//! `downsample.0`, the `.1` being its batch norm). Within a block the shortcut comes after
//! the main path, as in torchvision's module order.

use super::builder::Builder;
use super::{Network, NetworkError};

/// Residual block type.
#[derive(Clone, Copy)]
enum Block {
    /// Two 3x3 convolutions (ResNet-18/34), expansion 1.
    Basic,
    /// 1x1 reduce, 3x3 (strided), 1x1 expand by 4 (ResNet-50 and deeper).
    Bottleneck,
}

impl Block {
    const fn expansion(self) -> u32 {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// ResNet-18.
pub(crate) fn resnet18() -> Result<Network, NetworkError> {
    resnet("resnet18", Block::Basic, [2, 2, 2, 2])
}

/// ResNet-34.
pub(crate) fn resnet34() -> Result<Network, NetworkError> {
    resnet("resnet34", Block::Basic, [3, 4, 6, 3])
}

/// ResNet-50.
pub(crate) fn resnet50() -> Result<Network, NetworkError> {
    resnet("resnet50", Block::Bottleneck, [3, 4, 6, 3])
}

fn resnet(name: &str, block: Block, depths: [u32; 4]) -> Result<Network, NetworkError> {
    let mut b = Builder::new(name, 3, 224, 224);
    b.conv("conv1", 64, 7, 2, 3, 1).pool(3, 2, 1);
    let stages = [(64, 1), (128, 2), (256, 2), (512, 2)];
    for (stage, (&(planes, first_stride), &depth)) in stages.iter().zip(depths.iter()).enumerate() {
        for index in 0..depth {
            let stride = if index == 0 { first_stride } else { 1 };
            let prefix = format!("layer{}.{index}", stage + 1);
            residual_block(&mut b, &prefix, block, planes, stride);
        }
    }
    b.global_pool().fc("fc", 1000);
    b.finish()
}

fn residual_block(b: &mut Builder, prefix: &str, block: Block, planes: u32, stride: u32) {
    let input = b.current();
    let out_channels = planes * block.expansion();
    match block {
        Block::Basic => {
            b.conv(&format!("{prefix}.conv1"), planes, 3, stride, 1, 1);
            b.conv(&format!("{prefix}.conv2"), planes, 3, 1, 1, 1);
        }
        Block::Bottleneck => {
            b.conv(&format!("{prefix}.conv1"), planes, 1, 1, 0, 1);
            b.conv(&format!("{prefix}.conv2"), planes, 3, stride, 1, 1);
            b.conv(&format!("{prefix}.conv3"), out_channels, 1, 1, 0, 1);
        }
    }
    let main = b.current();
    let shortcut = if stride != 1 || input.c != out_channels {
        b.resume(input);
        b.conv(&format!("{prefix}.downsample"), out_channels, 1, stride, 0, 1);
        b.current()
    } else {
        input
    };
    b.resume(main);
    b.add(&format!("{prefix}.add"), shortcut);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_downsample(net: &Network) -> usize {
        net.layers.iter().filter(|l| l.name.ends_with(".downsample")).count()
    }

    #[test]
    fn layer_counts() {
        // 1 stem + 2 per basic block * 8 + 3 shortcuts + fc.
        let r18 = resnet18().unwrap();
        assert_eq!((r18.layers.len(), count_downsample(&r18)), (21, 3));
        // 1 + 2 * 16 + 3 + 1.
        let r34 = resnet34().unwrap();
        assert_eq!((r34.layers.len(), count_downsample(&r34)), (37, 3));
        // 1 + 3 * 16 + 4 (layer1 widens 64 -> 256) + 1.
        let r50 = resnet50().unwrap();
        assert_eq!((r50.layers.len(), count_downsample(&r50)), (54, 4));
    }

    #[test]
    fn spot_checked_shapes() {
        let r50 = resnet50().unwrap();
        let d = |name: &str| *r50.layer(name).unwrap().shape.dims();
        // v1.5: the stride of layer2.0 is on conv2 (3x3), not conv1.
        let c1 = d("layer2.0.conv1");
        assert_eq!(
            (c1.c_in, c1.c_out, c1.kernel_h, c1.in_h, c1.out_h),
            (256, 128, 1, 56, 56)
        );
        let c2 = d("layer2.0.conv2");
        assert_eq!(
            (c2.c_in, c2.c_out, c2.kernel_h, c2.in_h, c2.out_h),
            (128, 128, 3, 56, 28)
        );
        let ds = d("layer4.0.downsample");
        assert_eq!(
            (ds.c_in, ds.c_out, ds.kernel_h, ds.in_h, ds.out_h),
            (1024, 2048, 1, 14, 7)
        );
        let fc = d("fc");
        assert_eq!((fc.c_in, fc.c_out), (2048, 1000));
        let stem = resnet18().unwrap().layers[0].clone();
        assert_eq!(
            (stem.shape.dims().out_h, stem.stride, stem.padding),
            (112, (2, 2), (3, 3))
        );
    }
}
