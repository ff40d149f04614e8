/** ClickHouse's error codes the front raises itself, and the HTTP status its HTTP interface gives each code. */
export const CODES = {
    BAD_ARGUMENTS: 36,
    NOT_IMPLEMENTED: 48,
    SYNTAX_ERROR: 62,
    UNKNOWN_COMPRESSION_METHOD: 89,
    UNKNOWN_SETTING: 115,
    QUERY_WITH_SAME_ID_IS_RUNNING: 216,
    MEMORY_LIMIT_EXCEEDED: 241,
    SESSION_NOT_FOUND: 372,
    SESSION_IS_LOCKED: 373,
    TOO_MANY_ROWS_OR_BYTES: 396,
    UNKNOWN_USER: 192,
    ACCESS_ENTITY_ALREADY_EXISTS: 493,
    ACCESS_DENIED: 497,
    UNKNOWN_ROLE: 511,
    SET_NON_GRANTED_ROLE: 512,
    AUTHENTICATION_FAILED: 516,
    STD_EXCEPTION: 1001,
} as const;

const NAME_OF_CODE = new Map<number, string>(Object.entries(CODES).map(([name, code]) => [code, name]));

export class ClickHouseError extends Error {
    constructor(
        readonly code: number,
        message: string,
    ) {
        super(message);
    }

    /** The body ClickHouse answers an error with, ending with the code's name as clients parse it. */
    get text(): string {
        const name = NAME_OF_CODE.get(this.code);
        const named =
            name === undefined || this.message.endsWith(`(${name})`) ? this.message : `${this.message.replace(/\.$/, "")}. (${name})`;
        return `Code: ${this.code}. DB::Exception: ${named}`;
    }
}

/** As ClickHouse's `src/Server/HTTP/exceptionCodeToHTTPStatus.cpp` maps its codes: bad input 400, unknown names 404. */
const STATUS_OF_CODE = new Map<number, number>([
    [194, 401],
    ...[192, 193, 497, 512, 516].map((code) => [code, 403] as const),
    // 89 (UNKNOWN_COMPRESSION_METHOD) is a 500 there; an encoding the front cannot read is the client's to fix.
    ...[6, 8, 15, 25, 26, 27, 36, 38, 41, 44, 49, 51, 53, 62, 72, 89, 117, 167, 168, 223, 321, 427].map((code) => [code, 400] as const),
    ...[46, 47, 50, 56, 60, 63, 73, 81, 115, 336, 511].map((code) => [code, 404] as const),
    [48, 501],
    [76, 503],
    [209, 503],
    [159, 408],
]);

export const httpStatusOf = (code: number) => STATUS_OF_CODE.get(code) ?? 500;
