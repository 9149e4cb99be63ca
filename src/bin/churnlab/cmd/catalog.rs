//! `churnlab catalog`: the feature catalog as Markdown (docs/features.md).

pub fn run() {
    print!("{}", churnlab::features::catalog_markdown());
}
