// gatehouse: the one binary. Subcommands: serve, check-config, queue.
// Everyday settings of `serve` are flags; everything else is in the TOML
// configuration (docs/configuration.md).
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/queue_commands.hpp"
#include "app/serve.hpp"

int main(int argc, char** argv) {
    CLI::App app{"Gatehouse: secure email gateway"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "gatehouse 0.1.0");

    gatehouse::app::ServeOptions serve;
    auto* s = app.add_subcommand("serve", "Run the gateway (SMTP listeners, queue, admin API)");
    s->add_option("--config,-c", serve.config_file,
                  "TOML configuration file; without it the embedded defaults are used")
        ->check(CLI::ExistingFile);
    s->add_option("--listen", serve.listen,
                  "Listen on ADDR:PORT only (replaces the configured listeners)");
    s->add_option("--relay", serve.relay,
                  "Send all mail to this next hop HOST:PORT instead of the MX");
    s->add_option("--accept-domain", serve.accept_domains,
                  "Accept mail for this domain from anywhere (repeatable); without any, only "
                  "trusted networks may send, to any domain");
    s->add_option("--data", serve.data_dir, "Data directory for spool, logs and keys (./var)");
    s->add_option("--admin", serve.admin, "Admin API address ADDR:PORT, or 'off'");
    s->add_option("--log-level", serve.log_level, "trace, debug, info, warn or error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

    std::string check_path;
    auto* cc = app.add_subcommand("check-config",
                                  "Validate a configuration file; prints one line per problem");
    cc->add_option("file", check_path, "TOML configuration file")->required();

    gatehouse::app::add_queue_commands(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Exit codes: 0 ok, 1 error (a subcommand's RuntimeError carries its
        // own), 2 usage. CLI11's own parse errors map to 2.
        int code = app.exit(e);
        return (code == 0 || dynamic_cast<const CLI::RuntimeError*>(&e)) ? code : 2;
    }
    if (s->parsed()) return gatehouse::app::serve(serve);
    if (cc->parsed()) return gatehouse::app::check_config(check_path);
    return 0;
}
