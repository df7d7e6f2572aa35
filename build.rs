//! Compiles the C shim (src/ffi/shim.c) against the headers of the PHP that builds the
//! extension: `php-config --includes`, or `$PHP_CONFIG --includes` when set. Refuses the PHP
//! versions the project does not support, and says so for the ones it does not test (the
//! README's "Supported PHP versions" table).

use std::process::Command;

/// PHP versions CI tests (PHP_VERSION_ID / 100): 8.2, 8.4, 8.5 and 8.6.
const TESTED: [u32; 4] = [802, 804, 805, 806];

fn main() {
    println!("cargo:rerun-if-changed=src/ffi/shim.c");
    println!("cargo:rerun-if-env-changed=PHP_CONFIG");
    let php_config = std::env::var("PHP_CONFIG").unwrap_or_else(|_| "php-config".to_owned());
    let includes = php_config_output(&php_config, "--includes");
    check_version(&php_config, &includes);
    let mut build = cc::Build::new();
    build.file("src/ffi/shim.c").warnings(true).flag_if_supported("-Wno-unused-parameter");
    for dir in includes.split_whitespace().filter_map(|flag| flag.strip_prefix("-I")) {
        build.include(dir);
    }
    build.compile("sse_shim");
}

fn php_config_output(php_config: &str, flag: &str) -> String {
    match Command::new(php_config).arg(flag).output() {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).into_owned(),
        _ => {
            eprintln!("error: `{php_config} {flag}` failed; install your PHP's -dev package (php8.4-dev, php8.5-dev, ...) or set PHP_CONFIG to its php-config");
            std::process::exit(1);
        }
    }
}

fn check_version(php_config: &str, includes: &str) {
    let version = php_config_output(php_config, "--version").trim().to_owned();
    let id: u32 = php_config_output(php_config, "--vernum").trim().parse().unwrap_or(0);
    let minor = id / 100;
    if minor < 802 {
        eprintln!("error: PHP {version} ({php_config}) is not supported: ext-sse needs PHP 8.2 or newer (tested: 8.2, 8.4, 8.5, 8.6)");
        std::process::exit(1);
    }
    let zts = includes
        .split_whitespace()
        .filter_map(|flag| flag.strip_prefix("-I"))
        .filter_map(|dir| std::fs::read_to_string(format!("{dir}/main/php_config.h")).ok())
        .any(|config| config.lines().any(|line| line.trim() == "#define ZTS 1"));
    if zts {
        eprintln!("error: PHP {version} ({php_config}) is a thread-safe (ZTS) build, which ext-sse does not support yet");
        std::process::exit(1);
    }
    if !TESTED.contains(&minor) {
        println!("cargo:warning=PHP {version} is not among the versions ext-sse is tested with (8.2, 8.4, 8.5, 8.6); building anyway");
    }
}
