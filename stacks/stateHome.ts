import * as os from "os";
import * as path from "path";

/** Where local cells keep their data and the local backend lives: /var/lib/cellplane as root, else ~/.local/state/cellplane. */
export function defaultStateHome(): string {
    return (
        process.env.CELLPLANE_STATE_HOME ??
        (process.getuid?.() === 0 ? "/var/lib/cellplane" : path.join(os.homedir(), ".local", "state", "cellplane"))
    );
}
