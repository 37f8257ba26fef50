package com.cdcexport.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportType;

/**
 * The shape of the code, as rules over the compiled main classes (docs/architecture.md draws it). An export's path
 * is a stack: the web and the console on top; the pipeline, which runs a claimed job; the queue; the stages the
 * pipeline calls (read, destination, consumers' rules, watermarks); capture; the shared model and the formats at
 * the bottom. A package may use those below it, never one above, and no two packages depend on each other.
 */
class ArchitectureTest {

    private static final String MODEL = "com.cdcexport.export.model";

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("com.cdcexport");
    }

    @Test
    void theExportPathIsAStackWithNoCallBackUp() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("Web").definedBy("com.cdcexport.export.api..", "com.cdcexport.console..")
                .layer("Pipeline").definedBy("com.cdcexport.export.pipeline..")
                .layer("Queue").definedBy("com.cdcexport.export.job..")
                .layer("Access").definedBy("com.cdcexport.export.access..")
                .layer("Read").definedBy("com.cdcexport.export.read..")
                .layer("Destination").definedBy("com.cdcexport.export.destination..")
                .layer("Watermark").definedBy("com.cdcexport.export.watermark..")
                .layer("Capture").definedBy("com.cdcexport.export.capture..")
                .layer("Demo data").definedBy("com.cdcexport.seed..")
                .layer("Model").definedBy(MODEL + "..")
                .layer("Format").definedBy("com.cdcexport.export.format..")

                .whereLayer("Web").mayNotBeAccessedByAnyLayer()
                // The queue hands claimed jobs to the pipeline through an interface of its own (ClaimedJobRunner).
                .whereLayer("Pipeline").mayNotBeAccessedByAnyLayer()
                .whereLayer("Queue").mayOnlyBeAccessedByLayers("Web", "Pipeline")
                .whereLayer("Access").mayOnlyBeAccessedByLayers("Web", "Pipeline")
                .whereLayer("Read").mayOnlyBeAccessedByLayers("Pipeline")
                .whereLayer("Destination").mayOnlyBeAccessedByLayers("Web", "Pipeline", "Queue")
                .whereLayer("Watermark").mayOnlyBeAccessedByLayers("Web", "Pipeline", "Access")
                .whereLayer("Capture").mayOnlyBeAccessedByLayers("Web", "Access", "Read", "Demo data")
                .whereLayer("Demo data").mayNotBeAccessedByAnyLayer()
                .whereLayer("Model").mayOnlyBeAccessedByLayers("Web", "Pipeline", "Queue", "Access", "Read",
                        "Destination", "Watermark", "Capture", "Demo data")
                .check(classes);
    }

    @Test
    void noTwoPackagesDependOnEachOther() {
        slices().matching("com.cdcexport.(**)").should().beFreeOfCycles().check(classes);
    }

    /** What an export reads of a table (whole, a window, with operations) is decided once, by the planner. */
    @Test
    void onlyThePlanTellsAFullExportFromAnIncrementalOrADelta() {
        noClasses().that().resideOutsideOfPackage(MODEL)
                .should().accessField(ExportType.class, "FULL")
                .orShould().accessField(ExportType.class, "INCREMENTAL")
                .orShould().accessField(ExportType.class, "DELTA")
                .because("ExportPlan.Read.of decides what each export type reads")
                .check(classes);
        noClasses().that().resideOutsideOfPackage(MODEL)
                .and().doNotHaveFullyQualifiedName("com.cdcexport.export.pipeline.ExportPlanner")
                .should().callMethod(ExportPlan.Read.class, "of", ExportType.class, boolean.class)
                .because("the plan is made once, when a job is claimed")
                .check(classes);
    }

    /** Authentication and exports share only the consumer package; neither knows the console above them. */
    @Test
    void authenticationAndExportsStayApart() {
        noClasses().that().resideInAPackage("com.cdcexport.auth..")
                .should().dependOnClassesThat().resideInAnyPackage("com.cdcexport.export..", "com.cdcexport.console..")
                .check(classes);
        noClasses().that().resideInAPackage("com.cdcexport.export..")
                .should().dependOnClassesThat().resideInAnyPackage("com.cdcexport.auth..", "com.cdcexport.console..")
                .check(classes);
        noClasses().that().resideInAPackage("com.cdcexport.consumer..")
                .should().dependOnClassesThat().resideInAnyPackage("com.cdcexport.auth..", "com.cdcexport.export..")
                .check(classes);
    }
}
