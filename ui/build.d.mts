/** Types of ui/build.mjs for the TypeScript that imports it (tests, the benchmark). */
export declare const DIST: string;
export declare function buildUi(options?: { force?: boolean }): Promise<'fresh' | 'built'>;
