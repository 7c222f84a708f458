// Types for scripts/build-server.mjs (the benchmark builds the gateway through it, as the bin does).
export declare const ROOT: string;
export declare const DIST: string;
export declare const ENTRY: string;
export declare function isBuildFresh(): boolean;
/** Undefined on success, else why the build failed. */
export declare function buildServer(): string | undefined;
/** The compiled entry's URL to import, or undefined to run the sources under tsx. */
export declare function compiledEntry(command: string | undefined): string | undefined;
