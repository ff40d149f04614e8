import { COLD_VOLUME, STORAGE_POLICY } from "../apps/shared/analytics";

/**
 * A value of the servers' configuration: written in it (a local server's, a file only the server reads), or a key of
 * a Kubernetes Secret, which reaches the server as an environment variable the configuration names (`from_env`).
 */
export type ConfigValue = { value: string } | { secret: { name: string; key: string } };

/**
 * Where a cell's ClickHouse keeps its cold volume: a disk on the cell's own object storage, never another region's.
 * Without keys, the servers reach it as their own cloud identity: the pod's IAM role on AWS, its workload identity on
 * Azure.
 */
export type ColdDisk =
    | {
          kind: "s3";
          /** The bucket's URL with the disk's prefix, ending in `/`. */
          endpoint: string;
          region: string;
          keys?: { accessKeyId: ConfigValue; secretAccessKey: ConfigValue };
      }
    | { kind: "azure"; accountUrl: string; container: string; key?: { account: string; accountKey: ConfigValue } };

const COLD_DISK = "cold";
/** Where the disk keeps its objects in its bucket or container. */
export const COLD_DISK_PREFIX = "clickhouse/";

/** The servers' storage configuration, and the Secret keys it reads from the environment, by variable. */
export interface StorageConfiguration {
    xml: string;
    env: Record<string, { name: string; key: string }>;
}

const escaped = (text: string) =>
    text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

/**
 * ClickHouse's `storage_configuration` with the cold disk and the `tiered` policy the events table names: the servers'
 * own disk as the `default` volume, the cold disk as the `cold` one.
 */
export function storageConfiguration(disk: ColdDisk): StorageConfiguration {
    const env: StorageConfiguration["env"] = {};
    const element = (tag: string, value: ConfigValue | string) => {
        if (typeof value === "string") return `<${tag}>${escaped(value)}</${tag}>`;
        if ("value" in value) return `<${tag}>${escaped(value.value)}</${tag}>`;
        const variable = `CLICKHOUSE_COLD_DISK_${tag.toUpperCase()}`;
        env[variable] = value.secret;
        return `<${tag} from_env="${variable}"/>`;
    };
    const settings =
        disk.kind === "s3"
            ? [
                  element("type", "s3"),
                  element("endpoint", disk.endpoint),
                  element("region", disk.region),
                  ...(disk.keys
                      ? [element("access_key_id", disk.keys.accessKeyId), element("secret_access_key", disk.keys.secretAccessKey)]
                      : [element("use_environment_credentials", "true")]),
              ]
            : [
                  element("type", "azure_blob_storage"),
                  element("storage_account_url", disk.accountUrl),
                  element("container_name", disk.container),
                  element("container_already_exists", "true"),
                  ...(disk.key
                      ? [element("account_name", disk.key.account), element("account_key", disk.key.accountKey)]
                      : [element("use_workload_identity", "true")]),
              ];
    // A store briefly out of reach must not keep a server from starting and serving the events on its own disks.
    settings.push(element("skip_access_check", "true"));
    const xml = `<clickhouse>
  <storage_configuration>
    <disks>
      <${COLD_DISK}>${settings.join("")}</${COLD_DISK}>
    </disks>
    <policies>
      <${STORAGE_POLICY}>
        <volumes>
          <default><disk>default</disk></default>
          <${COLD_VOLUME}><disk>${COLD_DISK}</disk></${COLD_VOLUME}>
        </volumes>
      </${STORAGE_POLICY}>
    </policies>
  </storage_configuration>
</clickhouse>
`;
    return { xml, env };
}
