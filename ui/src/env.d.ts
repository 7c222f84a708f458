/** Stylesheets are bundled by esbuild into the hashed CSS file. */
declare module '*.css';
