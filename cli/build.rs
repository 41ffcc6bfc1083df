//! Generates the gRPC code of `imagecheck serve` from proto/ with protox, a pure-Rust .proto
//! compiler: no build machine needs `protoc`, and the code can never drift from the .proto files
//! that foreign clients (grpcurl, grpcio) are generated from.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["machine/image.proto", "imagecheck/v1/imagecheck.proto"];
    let root = "../proto";
    for file in files {
        println!("cargo:rerun-if-changed={root}/{file}");
    }
    let descriptors = protox::compile(files, [root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
