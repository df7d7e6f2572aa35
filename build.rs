//! Compiles the C shim (src/ffi/shim.c) against the headers of the PHP that builds the
//! extension: `php-config --includes`, or `$PHP_CONFIG --includes` when set.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi/shim.c");
    println!("cargo:rerun-if-env-changed=PHP_CONFIG");
    let php_config = std::env::var("PHP_CONFIG").unwrap_or_else(|_| "php-config".to_owned());
    let output = match Command::new(&php_config).arg("--includes").output() {
        Ok(output) if output.status.success() => output,
        _ => {
            eprintln!("error: `{php_config} --includes` failed; install your PHP's -dev package (php8.2-dev, php8.4-dev) or set PHP_CONFIG to its php-config");
            std::process::exit(1);
        }
    };
    let includes = String::from_utf8_lossy(&output.stdout);
    let mut build = cc::Build::new();
    build.file("src/ffi/shim.c").warnings(true).flag_if_supported("-Wno-unused-parameter");
    for dir in includes.split_whitespace().filter_map(|flag| flag.strip_prefix("-I")) {
        build.include(dir);
    }
    build.compile("sse_shim");
}
