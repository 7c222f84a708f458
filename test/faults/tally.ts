/** The faults suite's numbers: every test adds what it tried, injected and lost; the total is printed at the end. */
export const tally = { requests: 0, faults: 0, rowsExpected: 0, rowsLost: 0 };

/** Adds one test's numbers. `rowsExpected` counts answered requests whose usage row was checked; `rowsLost` those without one. */
export function count(numbers: Partial<typeof tally>): void {
  for (const [name, value] of Object.entries(numbers) as [keyof typeof tally, number][]) tally[name] += value;
}

// A root-level hook: mocha runs it once, after every file of the suite.
after(function printTally() {
  console.log(
    `\n  faults suite: ${tally.requests} requests tried, ${tally.faults} faults injected, ` +
      `${tally.rowsExpected} usage rows expected, ${tally.rowsLost} rows lost`,
  );
});
