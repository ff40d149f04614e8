import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { moduleProvider } from "../dynamic";
import type { PostgresDatabaseProps } from "./providers/postgresDatabase";
import type { PostgresServerProps } from "./providers/postgresServer";

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

const serverProvider = moduleProvider(path.join(__dirname, "providers", "postgresServer.ts"));
const databaseProvider = moduleProvider(path.join(__dirname, "providers", "postgresDatabase.ts"));

/** A PostgreSQL server process on this machine; `running` turns false on refresh when it is gone. */
export class LocalPostgresServer extends pulumi.dynamic.Resource {
    declare readonly dir: pulumi.Output<string>;
    declare readonly port: pulumi.Output<number>;
    declare readonly running: pulumi.Output<boolean>;

    constructor(name: string, args: Inputs<Omit<PostgresServerProps, "running">>, opts?: pulumi.CustomResourceOptions) {
        super(
            serverProvider,
            name,
            { ...args, running: undefined },
            { ...opts, additionalSecretOutputs: ["superuserPassword", "tls"] },
            "cellplane",
            "LocalPostgresServer",
        );
    }
}

/** A database and its login role on a local PostgreSQL server; `healthy` turns false on refresh when either is damaged. */
export class LocalPostgresDatabase extends pulumi.dynamic.Resource {
    declare readonly healthy: pulumi.Output<boolean>;

    constructor(name: string, args: Inputs<Omit<PostgresDatabaseProps, "healthy">>, opts?: pulumi.CustomResourceOptions) {
        super(
            databaseProvider,
            name,
            { ...args, healthy: undefined },
            { ...opts, additionalSecretOutputs: ["ownerPassword", "server"] },
            "cellplane",
            "LocalPostgresDatabase",
        );
    }
}
