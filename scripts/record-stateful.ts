/**
 * `npm run stateful:record`: records the URNs of the checked-in stacks' resources that hold data, after a change
 * that adds or removes some on purpose. The unit tests refuse any other change of them.
 */
import * as fs from "fs";
import { allStatefulUrns, STATEFUL_URNS_FILE } from "../offline/statefulUrns";

void allStatefulUrns().then((urns) => {
    fs.writeFileSync(STATEFUL_URNS_FILE, `${JSON.stringify(urns, null, 2)}\n`);
    const count = Object.values(urns).reduce((n, list) => n + list.length, 0);
    console.log(`recorded ${count} stateful URNs of stacks ${Object.keys(urns).join(", ")} in ${STATEFUL_URNS_FILE}`);
});
