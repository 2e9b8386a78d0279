//! A small builder for the built-in networks.
//!
//! It tracks the current activation tensor (C, H, W) and derives every output size from
//! kernel, stride and padding through [`ConvGeometry`], so no output size is typed by hand.
//! Pooling changes (H, W) but adds no layer (it is not mappable). The first failure is
//! kept and returned by [`Builder::finish`]; later calls are ignored, so a built-in
//! definition reads as straight-line code and still cannot panic.

use super::geometry::{fc_layer, out_size, ConvGeometry, FieldError};
use super::{Layer, Network, NetworkError};

/// An activation tensor: channels, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tensor {
    pub c: u32,
    pub h: u32,
    pub w: u32,
}

/// Builds one network layer by layer.
pub(crate) struct Builder {
    name: String,
    current: Tensor,
    layers: Vec<Layer>,
    error: Option<NetworkError>,
}

impl Builder {
    /// Starts a network with a `c x h x w` input.
    pub fn new(name: &str, c: u32, h: u32, w: u32) -> Builder {
        Builder {
            name: name.to_owned(),
            current: Tensor { c, h, w },
            layers: Vec::new(),
            error: None,
        }
    }

    fn source(&self) -> String {
        format!("builtin:{}", self.name)
    }

    fn record(&mut self, layer: &str, result: Result<(), FieldError>) {
        if let (None, Err(e)) = (&self.error, result) {
            self.error = Some(e.locate(&self.source(), layer));
        }
    }

    /// The tensor the next layer will consume.
    pub fn current(&self) -> Tensor {
        self.current
    }

    /// Continues from another tensor (the input of a residual branch).
    pub fn resume(&mut self, t: Tensor) {
        self.current = t;
    }

    /// A square convolution with symmetric padding on the current tensor.
    pub fn conv(&mut self, name: &str, c_out: u32, kernel: u32, stride: u32, pad: u32, groups: u32) -> &mut Self {
        let t = self.current;
        let geometry = ConvGeometry::square(t.c, c_out, kernel, stride, pad, groups, (t.h, t.w));
        let result = geometry.layer(name).map(|layer| {
            let d = *layer.shape.dims();
            self.current = Tensor {
                c: d.c_out,
                h: d.out_h,
                w: d.out_w,
            };
            self.layers.push(layer);
        });
        self.record(name, result);
        self
    }

    /// A pooling window (max or average alike): changes H and W, adds no layer.
    pub fn pool(&mut self, kernel: u32, stride: u32, pad: u32) -> &mut Self {
        let t = self.current;
        let result = out_size(t.h, kernel, stride, 2 * pad, 1, "h")
            .and_then(|h| out_size(t.w, kernel, stride, 2 * pad, 1, "w").map(|w| (h, w)))
            .map(|(h, w)| self.current = Tensor { c: t.c, h, w });
        self.record("pool", result);
        self
    }

    /// Global average pooling to 1x1.
    pub fn global_pool(&mut self) -> &mut Self {
        let (h, w) = (self.current.h, self.current.w);
        self.pool_rect(h, w)
    }

    fn pool_rect(&mut self, kh: u32, kw: u32) -> &mut Self {
        let t = self.current;
        let result = out_size(t.h, kh, 1, 0, 1, "h")
            .and_then(|h| out_size(t.w, kw, 1, 0, 1, "w").map(|w| (h, w)))
            .map(|(h, w)| self.current = Tensor { c: t.c, h, w });
        self.record("global_pool", result);
        self
    }

    /// A fully-connected layer on the flattened current tensor (`C*H*W` features).
    pub fn fc(&mut self, name: &str, c_out: u32) -> &mut Self {
        let t = self.current;
        let features = u64::from(t.c) * u64::from(t.h) * u64::from(t.w);
        let result = u32::try_from(features)
            .map_err(|_| FieldError::new("c_in", "flattened input exceeds u32"))
            .and_then(|c_in| fc_layer(name, c_in, c_out))
            .map(|layer| {
                self.current = Tensor { c: c_out, h: 1, w: 1 };
                self.layers.push(layer);
            });
        self.record(name, result);
        self
    }

    /// An element-wise add of the current tensor and `other`: their shapes must agree.
    pub fn add(&mut self, at: &str, other: Tensor) -> &mut Self {
        let current = self.current;
        let result = if current == other {
            Ok(())
        } else {
            Err(FieldError::new(
                "shape",
                format!("residual add of {current:?} and {other:?}"),
            ))
        };
        self.record(at, result);
        self
    }

    /// The validated network, or the first error met while building it.
    pub fn finish(self) -> Result<Network, NetworkError> {
        match self.error {
            Some(e) => Err(e),
            None => Network::new(&self.name, &self.source(), self.layers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_the_tensor_through_convs_pools_and_fc() {
        let mut b = Builder::new("t", 3, 32, 32);
        b.conv("c1", 8, 3, 1, 1, 1).pool(2, 2, 0).conv("c2", 16, 3, 2, 1, 1);
        assert_eq!(b.current(), Tensor { c: 16, h: 8, w: 8 });
        b.fc("fc", 10);
        let net = b.finish().unwrap();
        assert_eq!(net.layers.len(), 3);
        assert_eq!(net.layers[2].shape.dims().c_in, 16 * 8 * 8);
    }

    #[test]
    fn first_error_wins_and_names_the_layer() {
        let mut b = Builder::new("t", 3, 4, 4);
        b.conv("too_big", 8, 7, 1, 0, 1).conv("grouped", 6, 1, 1, 0, 4);
        let e = b.finish().unwrap_err();
        assert_eq!(e.layer.as_deref(), Some("too_big"));
        assert_eq!(e.field.as_deref(), Some("kernel_h"));
        assert_eq!(e.source, "builtin:t");
    }

    #[test]
    fn mismatched_residual_is_an_error() {
        let mut b = Builder::new("t", 8, 8, 8);
        let input = b.current();
        b.conv("c", 16, 3, 2, 1, 1).add("add", input);
        assert_eq!(b.finish().unwrap_err().layer.as_deref(), Some("add"));
    }
}
