// Trino's own launcher (trino-server-main) is not on Maven Central; this starts the server its jar holds, with the
// configuration the system properties name (-Dconfig, -Dcatalog.config-dir, -Dplugin.dir).
void main() {
    new io.trino.server.Server().start(System.getProperty("trino.version", "unknown"));
}
